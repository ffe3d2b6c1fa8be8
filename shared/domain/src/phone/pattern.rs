//! A metadata regex compiled once into an anchored dense DFA: searching needs
//! no cache and no lock, so threads never contend.
//!
//! `phonenumber` only ever asks "does a match start at 0" (`find(..)` then
//! `start() == 0`) and, for prefixes, where that match ends. With leftmost-first
//! semantics both are answered exactly by an anchored forward search. The
//! patterns are compiled with the crate's flags (`x`) but with ASCII `\d`:
//! the haystacks here are ASCII digits only, where both mean the same.

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

/// Asked of a search whose answer is not certain; the caller falls back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Unsure;

/// One compiled metadata pattern.
pub(super) struct Pattern(dense::DFA<Vec<u32>>);

impl Pattern {
    /// Compiles a metadata pattern, `None` if it cannot be made a DFA.
    pub(super) fn new(pattern: &str) -> Option<Self> {
        dense::Builder::new()
            .syntax(syntax::Config::new().ignore_whitespace(true).unicode(false))
            .configure(dense::Config::new().start_kind(StartKind::Anchored))
            .build(pattern)
            .ok()
            .map(Pattern)
    }

    /// Whether a match starts at the beginning of `digits`.
    pub(super) fn matches_at_start(&self, digits: &[u8]) -> Result<bool, Unsure> {
        let input = Input::new(digits).anchored(Anchored::Yes).earliest(true);
        self.0.try_search_fwd(&input).map(|m| m.is_some()).map_err(|_| Unsure)
    }

    /// Where the leftmost-first match starting at 0 ends, if there is one.
    pub(super) fn end_at_start(&self, digits: &[u8]) -> Result<Option<usize>, Unsure> {
        let input = Input::new(digits).anchored(Anchored::Yes);
        self.0.try_search_fwd(&input).map(|m| m.map(|m| m.offset())).map_err(|_| Unsure)
    }
}

/// A descriptor's pattern gated by its possible lengths, like
/// `phonenumber::metadata::Descriptor::is_match`.
pub(super) struct Described {
    /// Bit `n` set when length `n` is possible; `None` when any length is.
    /// Lengths of 64 and more are left out: no haystack here is that long.
    lengths: Option<u64>,
    pattern: Pattern,
}

impl Described {
    /// Compiles a descriptor, `None` if its pattern cannot be a DFA.
    pub(super) fn new(desc: &phonenumber::metadata::Descriptor) -> Option<Self> {
        let possible = desc.possible_length();
        let lengths = (!possible.is_empty()).then(|| length_mask(possible));
        Some(Described { lengths, pattern: Pattern::new(desc.national_number().as_str())? })
    }

    /// Whether `digits` has a possible length and the pattern matches at 0.
    pub(super) fn is_match(&self, digits: &[u8]) -> Result<bool, Unsure> {
        if let Some(mask) = self.lengths {
            if digits.len() >= 64 || mask & (1 << digits.len()) == 0 {
                return Ok(false);
            }
        }
        self.pattern.matches_at_start(digits)
    }
}

/// The lengths below 64 as a bit set.
fn length_mask(lengths: &[u16]) -> u64 {
    lengths.iter().filter(|&&n| n < 64).fold(0, |mask, &n| mask | 1 << n)
}
