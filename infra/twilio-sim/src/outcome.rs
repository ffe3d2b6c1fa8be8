//! Drawing what happens to a call. Each call gets its own RNG seeded from
//! the run's seed and the call's place in creation order, so outcomes do not
//! depend on timing or on how other calls interleave.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::{probability, Phone, SimConfig};

/// Who picked up an answered call, as Twilio's machine detection reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answerer {
    Human,
    Machine,
    Fax,
}

impl Answerer {
    /// The `AnsweredBy` value Twilio sends with `MachineDetection=Enable`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Answerer::Human => "human",
            Answerer::Machine => "machine_start",
            Answerer::Fax => "fax",
        }
    }
}

/// How the lead's leg of a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Answered(Answerer),
    Busy,
    NoAnswer,
    Failed,
}

/// The drawn outcome and how many simulated seconds it rings first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallPlan {
    pub outcome: Outcome,
    pub ring_secs: u32,
}

/// How a `<Dial>`ed salesperson's leg goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DialPlan {
    /// Picked up (otherwise busy or no answer).
    pub answered: bool,
    /// Busy rather than ringing out, when not answered.
    pub busy: bool,
    /// Simulated seconds of ringing before the pick-up.
    pub ring_secs: u32,
    /// Simulated seconds of conversation, when answered.
    pub talk_secs: u32,
}

/// Share of machine answers that are a fax.
const FAX_SHARE: f64 = 0.05;
/// Share of unanswered salesperson legs that are busy rather than no-answer.
const DIAL_BUSY_SHARE: f64 = 0.2;

/// One call's source of randomness.
pub(crate) struct CallDice {
    rng: StdRng,
}

impl CallDice {
    /// The dice of the `index`th call created under `seed`.
    pub(crate) fn new(seed: u64, index: u64) -> Self {
        CallDice { rng: StdRng::seed_from_u64(splitmix64(seed ^ splitmix64(index))) }
    }

    /// A second stream for the same call (greetings, detection, talk in a
    /// room), so adding those draws leaves the outcome draws unchanged.
    pub(crate) fn timing(seed: u64, index: u64) -> Self {
        CallDice { rng: StdRng::seed_from_u64(splitmix64(!seed ^ splitmix64(index.wrapping_add(0x7157)))) }
    }

    /// Draws the lead's answer. A call that would be answered only after
    /// `timeout_secs` of ringing is not answered.
    pub(crate) fn plan(&mut self, config: &SimConfig, timeout_secs: u32) -> CallPlan {
        let roll: f64 = self.rng.gen();
        let ring = self.range(config.ring_secs);
        let human = probability(config.answer_rate);
        let machine = human + probability(config.machine_rate);
        let busy = machine + probability(config.busy_rate);
        let failed = busy + probability(config.failed_rate);
        let outcome = if roll < human {
            Outcome::Answered(Answerer::Human)
        } else if roll < machine {
            let fax = self.rng.gen::<f64>() < FAX_SHARE;
            Outcome::Answered(if fax { Answerer::Fax } else { Answerer::Machine })
        } else if roll < busy {
            Outcome::Busy
        } else if roll < failed {
            Outcome::Failed
        } else {
            Outcome::NoAnswer
        };
        match outcome {
            Outcome::Answered(_) if ring >= timeout_secs => {
                CallPlan { outcome: Outcome::NoAnswer, ring_secs: timeout_secs }
            }
            Outcome::Answered(_) => CallPlan { outcome, ring_secs: ring },
            Outcome::Busy => CallPlan { outcome, ring_secs: ring.min(2) },
            Outcome::Failed => CallPlan { outcome, ring_secs: 0 },
            Outcome::NoAnswer => CallPlan { outcome, ring_secs: timeout_secs },
        }
    }

    /// Draws a salesperson's answer to a `<Dial>` that rings `timeout_secs`.
    pub(crate) fn dial(&mut self, config: &SimConfig, timeout_secs: u32) -> DialPlan {
        let answered = self.rng.gen::<f64>() < probability(config.salesperson_answer_rate);
        let busy = !answered && self.rng.gen::<f64>() < DIAL_BUSY_SHARE;
        let ring_secs = if answered {
            self.rng.gen_range(1..=3u32).min(timeout_secs)
        } else if busy {
            1
        } else {
            timeout_secs
        };
        let talk_secs = if answered { self.range(config.talk_secs) } else { 0 };
        DialPlan { answered, busy, ring_secs, talk_secs }
    }

    /// How a model phone answers: a person picks up after a ring or two,
    /// or it is busy, rings out or fails, as configured.
    pub(crate) fn phone_plan(&mut self, phone: Phone, timeout_secs: u32) -> CallPlan {
        let ring_secs = self.rng.gen_range(1..=3u32).min(timeout_secs);
        match phone {
            Phone::Stays | Phone::HangsUpAfter(_) => {
                CallPlan { outcome: Outcome::Answered(Answerer::Human), ring_secs }
            }
            Phone::Busy => CallPlan { outcome: Outcome::Busy, ring_secs: 1 },
            Phone::NoAnswer => CallPlan { outcome: Outcome::NoAnswer, ring_secs: timeout_secs },
            Phone::Failed => CallPlan { outcome: Outcome::Failed, ring_secs: 0 },
        }
    }

    /// A uniform draw in `0..1`.
    pub(crate) fn unit(&mut self) -> f64 {
        self.rng.gen()
    }

    /// A uniform draw of seconds from a range given either way round.
    pub(crate) fn secs(&mut self, (a, b): (f64, f64)) -> f64 {
        let (lo, hi) = (a.min(b).max(0.0), a.max(b).max(0.0));
        if hi > lo && hi.is_finite() {
            self.rng.gen_range(lo..=hi)
        } else if lo.is_finite() {
            lo
        } else {
            0.0
        }
    }

    /// Simulated seconds of conversation.
    pub(crate) fn talk(&mut self, config: &SimConfig) -> u32 {
        self.range(config.talk_secs)
    }

    /// A uniform draw from an inclusive range given either way round.
    fn range(&mut self, (a, b): (u32, u32)) -> u32 {
        self.rng.gen_range(a.min(b)..=a.max(b))
    }
}

/// SplitMix64's finaliser: spreads nearby seeds and indexes far apart.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(answer: f64, machine: f64, busy: f64, failed: f64) -> SimConfig {
        SimConfig {
            answer_rate: answer,
            machine_rate: machine,
            busy_rate: busy,
            failed_rate: failed,
            ..SimConfig::default()
        }
    }

    #[test]
    fn certain_rates_give_certain_outcomes() {
        for index in 0..20 {
            let plan = CallDice::new(7, index).plan(&config(1.0, 0.0, 0.0, 0.0), 60);
            assert_eq!(plan.outcome, Outcome::Answered(Answerer::Human));
            assert!((3..=12).contains(&plan.ring_secs));
            assert_eq!(CallDice::new(7, index).plan(&config(0.0, 0.0, 1.0, 0.0), 60).outcome, Outcome::Busy);
            assert_eq!(CallDice::new(7, index).plan(&config(0.0, 0.0, 0.0, 1.0), 60).outcome, Outcome::Failed);
            let none = CallDice::new(7, index).plan(&config(0.0, 0.0, 0.0, 0.0), 45);
            assert_eq!(none, CallPlan { outcome: Outcome::NoAnswer, ring_secs: 45 });
        }
    }

    #[test]
    fn ringing_past_the_timeout_is_no_answer() {
        let c = SimConfig { ring_secs: (30, 30), ..config(1.0, 0.0, 0.0, 0.0) };
        assert_eq!(CallDice::new(1, 0).plan(&c, 20), CallPlan { outcome: Outcome::NoAnswer, ring_secs: 20 });
    }

    #[test]
    fn same_seed_and_index_repeat_and_others_differ() {
        let c = SimConfig::default();
        let run = |seed| (0..200).map(|i| CallDice::new(seed, i).plan(&c, 60)).collect::<Vec<_>>();
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn rates_are_roughly_honoured() {
        let c = SimConfig::default();
        let humans = (0..4000)
            .filter(|&i| CallDice::new(11, i).plan(&c, 60).outcome == Outcome::Answered(Answerer::Human))
            .count();
        assert!((2200..2600).contains(&humans), "{humans} of 4000 answered by a person");
    }

    #[test]
    fn model_phones_behave_as_configured() {
        let mut dice = CallDice::new(1, 1);
        let plan = dice.phone_plan(Phone::Stays, 30);
        assert!(plan.outcome == Outcome::Answered(Answerer::Human) && (1..=3).contains(&plan.ring_secs));
        assert_eq!(dice.phone_plan(Phone::Busy, 30).outcome, Outcome::Busy);
        assert_eq!(dice.phone_plan(Phone::NoAnswer, 30), CallPlan { outcome: Outcome::NoAnswer, ring_secs: 30 });
        assert_eq!(dice.phone_plan(Phone::Failed, 30).outcome, Outcome::Failed);
        let s = dice.secs((2.0, 1.0));
        assert!((1.0..=2.0).contains(&s));
        assert_eq!(dice.secs((f64::NAN, f64::NAN)), 0.0);
    }

    #[test]
    fn dial_draws_follow_the_salesperson_rate() {
        let sure = SimConfig { salesperson_answer_rate: 1.0, talk_secs: (5, 5), ..SimConfig::default() };
        let plan = CallDice::new(1, 1).dial(&sure, 20);
        assert!(plan.answered && plan.talk_secs == 5 && (1..=3).contains(&plan.ring_secs));
        let never = SimConfig { salesperson_answer_rate: 0.0, ..SimConfig::default() };
        let plan = CallDice::new(1, 1).dial(&never, 20);
        assert!(!plan.answered && plan.talk_secs == 0);
        assert!(plan.ring_secs == 20 || (plan.busy && plan.ring_secs == 1));
    }
}
