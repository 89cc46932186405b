//! Characters that change how text is shown without showing themselves: bidirectional
//! controls (U+202E turns "gpj.exe" into "exe.jpg"), zero-width joiners and spaces, soft
//! hyphens, tag characters. Names and addresses refuse them; the audit log shows them escaped.

/// Unicode's format characters (general category Cf), the ones that matter here.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0x2066..=0x206F
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0001
        | 0xE0020..=0xE007F)
}

/// `text` with every control and invisible format character written as `\u{…}`, so that what
/// is shown is what was typed.
pub fn escape_invisible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() || is_invisible_format(c) {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_changes_are_caught_and_shown() {
        assert!(is_invisible_format('\u{202E}'));
        assert!(is_invisible_format('\u{200B}'));
        assert!(is_invisible_format('\u{2066}'));
        assert!(!is_invisible_format('é'));
        assert!(!is_invisible_format('ع'));
        assert_eq!(
            escape_invisible("ada\u{202E}gpj.exe"),
            "ada\\u{202E}gpj.exe"
        );
        assert_eq!(escape_invisible("plain"), "plain");
        assert_eq!(escape_invisible("a\u{7}b"), "a\\u{0007}b");
    }
}
