//! The faults the simulator can inject, as Twilio really shows them:
//! callbacks duplicated, delayed, reordered or lost; a create-call request
//! that times out although the call was placed; 5xx answers. Each fault is
//! drawn at its rate from a seeded RNG, so a run with faults repeats too.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::probability;

/// Rates (probabilities in `0.0..=1.0`, clamped) of each fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// A callback is sent twice.
    pub duplicate: f64,
    /// A callback is sent late (by `delay_secs`), in the background, so
    /// later callbacks overtake it.
    pub delay: f64,
    /// A callback is held back and sent just after the next one from the
    /// same call or room.
    pub reorder: f64,
    /// A callback is never sent.
    pub drop: f64,
    /// Range of simulated seconds a delayed callback is late by.
    pub delay_secs: (u32, u32),
    /// A create-call request places the call but answers only after
    /// `create_hang` (real time), after the client has given up.
    pub create_timeout: f64,
    /// How long a timed-out create hangs before answering.
    pub create_hang: Duration,
    /// A REST request is refused with a 500 or 503 before doing anything.
    pub server_error: f64,
}

impl Default for Faults {
    /// No faults.
    fn default() -> Self {
        Faults {
            duplicate: 0.0,
            delay: 0.0,
            reorder: 0.0,
            drop: 0.0,
            delay_secs: (1, 5),
            create_timeout: 0.0,
            create_hang: Duration::from_secs(12),
            server_error: 0.0,
        }
    }
}

impl Faults {
    /// Every fault on, at the rates `ibrat serve --demo --chaos` uses (the
    /// README lists them): 5% of callbacks duplicated, 5% delayed by 1–5
    /// simulated seconds, 5% reordered, 1% dropped; 2% of creates time out
    /// after placing the call; 2% of REST requests answer 5xx.
    pub fn chaos() -> Faults {
        Faults {
            duplicate: 0.05,
            delay: 0.05,
            reorder: 0.05,
            drop: 0.01,
            delay_secs: (1, 5),
            create_timeout: 0.02,
            create_hang: Duration::from_secs(12),
            server_error: 0.02,
        }
    }

    /// True when any callback fault can happen.
    pub fn touch_callbacks(&self) -> bool {
        [self.duplicate, self.delay, self.reorder, self.drop].iter().any(|r| probability(*r) > 0.0)
    }
}

/// What happens to one callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackFate {
    /// Sent once, now.
    Sent,
    /// Sent twice in a row.
    Duplicated,
    /// Sent this many simulated seconds late, in the background.
    Delayed(u32),
    /// Sent after the next callback from the same source.
    Reordered,
    /// Never sent.
    Dropped,
}

impl CallbackFate {
    /// The ledger's word for it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CallbackFate::Sent => "sent",
            CallbackFate::Duplicated => "duplicated",
            CallbackFate::Delayed(_) => "delayed",
            CallbackFate::Reordered => "reordered",
            CallbackFate::Dropped => "dropped",
        }
    }
}

/// What happens to one REST request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RestFate {
    Normal,
    /// Refused with this HTTP status before acting.
    ServerError(u16),
    /// Acts, then answers only after the client has timed out.
    Hang,
}

/// A seeded source of fault draws.
pub(crate) struct FaultDice {
    rng: StdRng,
}

/// Keeps fault draws apart from outcome draws made with the same index.
const FAULT_SALT: u64 = 0x5EED_FA17_0000_0001;

impl FaultDice {
    /// The dice of the `index`th source (call, room or REST request) of `kind`.
    pub(crate) fn new(seed: u64, kind: u64, index: u64) -> FaultDice {
        let mix = seed ^ FAULT_SALT ^ kind.rotate_left(32) ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        FaultDice { rng: StdRng::seed_from_u64(mix) }
    }

    /// One callback's fate; only one fault per callback.
    pub(crate) fn callback(&mut self, f: &Faults) -> CallbackFate {
        if !f.touch_callbacks() {
            return CallbackFate::Sent;
        }
        let roll: f64 = self.rng.gen();
        let mut edge = probability(f.drop);
        if roll < edge {
            return CallbackFate::Dropped;
        }
        edge += probability(f.duplicate);
        if roll < edge {
            return CallbackFate::Duplicated;
        }
        edge += probability(f.delay);
        if roll < edge {
            let (a, b) = f.delay_secs;
            return CallbackFate::Delayed(self.rng.gen_range(a.min(b)..=a.max(b)));
        }
        edge += probability(f.reorder);
        if roll < edge {
            return CallbackFate::Reordered;
        }
        CallbackFate::Sent
    }

    /// One REST request's fate; `creates` says whether it places a call.
    pub(crate) fn rest(&mut self, f: &Faults, creates: bool) -> RestFate {
        if probability(f.server_error) > 0.0 && self.rng.gen::<f64>() < probability(f.server_error) {
            return RestFate::ServerError(if self.rng.gen::<bool>() { 500 } else { 503 });
        }
        if creates && probability(f.create_timeout) > 0.0 && self.rng.gen::<f64>() < probability(f.create_timeout) {
            return RestFate::Hang;
        }
        RestFate::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_faults_by_default() {
        let f = Faults::default();
        let mut dice = FaultDice::new(1, 0, 0);
        assert!((0..1000).all(|_| dice.callback(&f) == CallbackFate::Sent));
        assert!((0..1000).all(|_| dice.rest(&f, true) == RestFate::Normal));
    }

    #[test]
    fn chaos_rates_are_roughly_honoured_and_repeat() {
        let f = Faults::chaos();
        let draw = |seed| {
            let mut dice = FaultDice::new(seed, 1, 3);
            (0..20_000).map(|_| dice.callback(&f)).collect::<Vec<_>>()
        };
        let fates = draw(9);
        assert_eq!(fates, draw(9));
        let count = |want: fn(&CallbackFate) -> bool| fates.iter().filter(|x| want(x)).count();
        assert!((700..1300).contains(&count(|x| *x == CallbackFate::Duplicated)));
        assert!((700..1300).contains(&count(|x| matches!(x, CallbackFate::Delayed(1..=5)))));
        assert!((700..1300).contains(&count(|x| *x == CallbackFate::Reordered)));
        assert!((100..300).contains(&count(|x| *x == CallbackFate::Dropped)));
        let mut dice = FaultDice::new(9, 2, 0);
        let rest: Vec<RestFate> = (0..20_000).map(|_| dice.rest(&f, true)).collect();
        let errors = rest.iter().filter(|r| matches!(r, RestFate::ServerError(500 | 503))).count();
        let hangs = rest.iter().filter(|r| **r == RestFate::Hang).count();
        assert!((250..550).contains(&errors), "{errors}");
        assert!((250..550).contains(&hangs), "{hangs}");
    }
}
