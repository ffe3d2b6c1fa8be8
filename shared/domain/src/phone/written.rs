//! Reads the common written forms of a number (digits, one leading `+`,
//! spaces, `-`, `.`, parentheses) into its digits, the way `phonenumber`'s two
//! readers (natural text and RFC 3966) would see them. Anything else is left to
//! the reference parse.

/// The most digits the fast path handles; longer input goes to the reference.
pub(super) const MAX_DIGITS: usize = 32;

/// The digits of a written number, on the stack.
#[derive(Clone, Copy)]
pub(super) struct Digits {
    buf: [u8; MAX_DIGITS],
    len: usize,
}

impl Digits {
    fn new() -> Self {
        Digits { buf: [0; MAX_DIGITS], len: 0 }
    }

    fn push(&mut self, digit: u8) -> Option<()> {
        *self.buf.get_mut(self.len)? = digit;
        self.len += 1;
        Some(())
    }

    /// The ASCII digits.
    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// How `phonenumber` reads the input.
pub(super) enum Written {
    /// No space, a `+`, digits, then a separator (`+998-90-...`): the crate's
    /// RFC 3966 reader succeeds and takes the digits before the first
    /// separator as the country code verbatim, with no IDD stripping.
    Rfc { code: Digits, national: Digits },
    /// Everything else, read as natural text: `plus` when it starts with `+`.
    Natural { plus: bool, digits: Digits },
}

/// Reads `trimmed`, or `None` when it is not one of the forms handled here
/// (letters, other punctuation, a `+` past the start, fewer than three
/// digits, more than [`MAX_DIGITS`]).
pub(super) fn read(trimmed: &str) -> Option<Written> {
    let bytes = trimmed.as_bytes();
    let mut digits = Digits::new();
    let mut space = false;
    let mut first_separator = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => digits.push(b)?,
            b'+' if i == 0 => {}
            b' ' => space = true,
            b'-' | b'.' | b'(' | b')' => {
                first_separator.get_or_insert(i);
            }
            _ => return None,
        }
    }
    // Fewer digits are either not viable or the two-digit special case.
    if digits.len < 3 {
        return None;
    }
    let plus = bytes[0] == b'+';
    if plus && !space && bytes[1].is_ascii_digit() {
        if let Some(sep) = first_separator {
            // Everything between `+` and the separator is a digit.
            let code_len = sep - 1;
            let (mut code, mut national) = (Digits::new(), Digits::new());
            for &d in &digits.as_bytes()[..code_len] {
                code.push(d)?;
            }
            for &d in &digits.as_bytes()[code_len..] {
                national.push(d)?;
            }
            return Some(Written::Rfc { code, national });
        }
    }
    Some(Written::Natural { plus, digits })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn natural(s: &str) -> Option<(bool, String)> {
        match read(s)? {
            Written::Natural { plus, digits } => Some((plus, String::from_utf8(digits.as_bytes().to_vec()).unwrap())),
            Written::Rfc { .. } => None,
        }
    }

    fn rfc(s: &str) -> Option<(String, String)> {
        match read(s)? {
            Written::Rfc { code, national } => Some((
                String::from_utf8(code.as_bytes().to_vec()).unwrap(),
                String::from_utf8(national.as_bytes().to_vec()).unwrap(),
            )),
            Written::Natural { .. } => None,
        }
    }

    #[test]
    fn natural_forms_keep_digits_and_plus() {
        assert_eq!(natural("+998 (90) 123-45-67"), Some((true, "998901234567".into())));
        assert_eq!(natural("+998901234567"), Some((true, "998901234567".into())));
        assert_eq!(natural("(202) 555-0143"), Some((false, "2025550143".into())));
        assert_eq!(natural("8 (495) 123-45-67"), Some((false, "84951234567".into())));
    }

    #[test]
    fn plus_code_separator_without_spaces_is_rfc() {
        assert_eq!(rfc("+998-90-123-45-67"), Some(("998".into(), "901234567".into())));
        assert_eq!(rfc("+7(495)1234567"), Some(("7".into(), "4951234567".into())));
        assert!(rfc("+(998)901234567").is_none());
    }

    #[test]
    fn other_input_is_left_to_the_reference() {
        for s in ["12", "90 123 45 67 ext 5", "+998+90", "tel:+998901234567", "90/123", "１２３４"] {
            assert!(read(s).is_none(), "{s}");
        }
        assert!(read(&"9".repeat(MAX_DIGITS + 1)).is_none());
    }
}
