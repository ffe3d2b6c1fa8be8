//! How long things take on a real line: greetings, and when answering-machine
//! detection reaches its verdict in each mode (Twilio's default thresholds,
//! see the reference's "Answering-machine detection" section).

use crate::outcome::Answerer;
use crate::request::Amd;

/// Silence after a person's short greeting before Twilio classes them human
/// (`MachineDetectionSpeechEndThreshold`, 1,200 ms).
pub(crate) const SPEECH_END_THRESHOLD_SECS: f64 = 1.2;
/// Continuous speech after which Twilio classes a machine
/// (`MachineDetectionSpeechThreshold`, 2,400 ms).
pub(crate) const SPEECH_THRESHOLD_SECS: f64 = 2.4;
/// From the end of a machine's greeting to its beep being heard.
pub(crate) const BEEP_SECS: f64 = 0.6;
/// A greeting that ends in silence instead of a beep is called after this
/// much of it.
pub(crate) const END_SILENCE_SECS: f64 = 2.0;
/// Fax tones are recognised after about this long.
pub(crate) const FAX_SECS: f64 = 3.0;

/// Detection's verdict and how many simulated seconds after the answer it
/// comes. `end_roll` (uniform in `0..1`) picks how a machine's greeting
/// ends under `DetectMessageEnd`: a beep (80%), silence (15%) or something
/// else (5%).
pub(crate) fn verdict(mode: Amd, who: Answerer, greeting_secs: f64, end_roll: f64) -> (f64, &'static str) {
    match (who, mode) {
        (Answerer::Human, _) => (greeting_secs + SPEECH_END_THRESHOLD_SECS, "human"),
        (Answerer::Fax, _) => (FAX_SECS, "fax"),
        (Answerer::Machine, Amd::DetectMessageEnd) if end_roll < 0.80 => {
            (greeting_secs + BEEP_SECS, "machine_end_beep")
        }
        (Answerer::Machine, Amd::DetectMessageEnd) if end_roll < 0.95 => {
            (greeting_secs + END_SILENCE_SECS, "machine_end_silence")
        }
        (Answerer::Machine, Amd::DetectMessageEnd) => (greeting_secs + BEEP_SECS, "machine_end_other"),
        (Answerer::Machine, _) => (SPEECH_THRESHOLD_SECS.min(greeting_secs), "machine_start"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_called_once_they_stop_speaking() {
        for mode in [Amd::Enable, Amd::DetectMessageEnd] {
            let (secs, verdict) = verdict(mode, Answerer::Human, 0.8, 0.5);
            assert_eq!(verdict, "human");
            assert!((secs - 2.0).abs() < 1e-9);
        }
    }

    #[test]
    fn a_machine_is_called_early_with_enable_and_at_the_beep_with_detect_message_end() {
        assert_eq!(verdict(Amd::Enable, Answerer::Machine, 12.0, 0.1), (2.4, "machine_start"));
        let (secs, v) = verdict(Amd::DetectMessageEnd, Answerer::Machine, 12.0, 0.1);
        assert_eq!(v, "machine_end_beep");
        assert!((secs - 12.6).abs() < 1e-9);
        assert_eq!(verdict(Amd::DetectMessageEnd, Answerer::Machine, 12.0, 0.9).1, "machine_end_silence");
        assert_eq!(verdict(Amd::DetectMessageEnd, Answerer::Machine, 12.0, 0.99).1, "machine_end_other");
        assert_eq!(verdict(Amd::Enable, Answerer::Fax, 12.0, 0.0), (3.0, "fax"));
    }
}
