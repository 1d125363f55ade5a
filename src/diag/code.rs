//! Every diagnostic code, in one table: the enum the compiler checks, the
//! stable text lint prints and JSON carries (`error[unclosed-fence]`), and
//! what each means, for a reader looking a code up.

/// Writes [`Code`] from one table of `Variant = "text", "meaning"` rows, so a
/// code's text and meaning are never written twice.
macro_rules! codes {
    ($($variant:ident = $text:literal, $meaning:literal;)*) => {
        /// A stable diagnostic code, e.g. `unknown-attribute`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(#[doc = $meaning] $variant,)*
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as printed and serialised: `unknown-attribute`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }

            /// What the code means, in a sentence.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }
        }
    };
}

codes! {
    // Reading the workshop.
    UnreadablePath = "unreadable-path", "A path given on the command line, or a page it names, cannot be read.";
    BadWorkshop = "bad-workshop", "A folder that holds no lab pages, SUMMARY.md or workshop/ folder.";
    NoLabs = "no-labs", "The workshop's order lists no lab page.";
    BadBookToml = "bad-book-toml", "book.toml does not parse, so the book's order and variables are unknown.";
    BadYaml = "bad-yaml", "A workshop.yaml or similar order file is not valid YAML.";
    NonUtf8 = "non-utf8", "A page is not UTF-8 text.";
    CrLineEndings = "cr-line-endings", "A page ends its lines with CR alone, which CommonMark reads as one line.";
    FrontMatter = "front-matter", "The page's front matter (or its `labctl:` settings) is wrong.";
    // Fences and their attributes.
    UnclosedFence = "unclosed-fence", "A code fence is never closed, so the rest of the page is inside it.";
    UnknownFence = "unknown-fence", "A fence name one typo away from one labctl acts on: the block is prose.";
    BadAttributes = "bad-attributes", "A fence's `{...}` attributes do not parse.";
    UnknownAttribute = "unknown-attribute", "A fence attribute labctl does not know.";
    BadAttributeValue = "bad-attribute-value", "A known attribute with a value it cannot take.";
    DuplicateAttribute = "duplicate-attribute", "An attribute given twice on one fence.";
    BadTerminal = "bad-terminal", "A terminal number that is not a positive whole number.";
    InvisibleName = "invisible-name", "A step name with invisible or direction-changing characters.";
    DuplicateStep = "duplicate-step", "Two steps of one page with the same name.";
    // Checks.
    VerifyYaml = "verify-yaml", "A verify block that is not valid YAML.";
    VerifySchema = "verify-schema", "A check with an unknown key, a missing one, or a value of the wrong type.";
    CheckAssertsNothing = "check-asserts-nothing", "A check that names what to look at but asserts nothing about it.";
    BadRegex = "bad-regex", "A `matches` pattern that is not a valid regular expression.";
    BadJsonpath = "bad-jsonpath", "A JSONPath that is not valid RFC 9535.";
    // Variables.
    UndefinedVariable = "undefined-variable", "A variable used on a page with no value from any source.";
    UnsafeVariable = "unsafe-variable", "A variable value outside the safe character set.";
    HardcodedUser = "hardcoded-user", "A literal `userN` where the lab otherwise uses a username variable.";
    // The workshop around a page.
    MissingImage = "missing-image", "An image the page shows does not exist.";
    MissingFile = "missing-file", "A file a command applies (`kubectl -f`) does not exist.";
    ExaminerOutside = "examiner-outside", "An examiner test that names a script outside workshop/examiner/tests/.";
    ExaminerMissing = "examiner-missing", "An examiner test whose script does not exist.";
    // Notes.
    UncheckedStep = "unchecked-step", "A step with no check and no expected output: only its exit status counts.";
    AutoBackground = "auto-background", "A step that never ends on its own, so it runs in the background.";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Tests compare a code with its text.
impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            let t = c.as_str();
            assert!(seen.insert(t), "{t} twice");
            assert!(
                t.split('-').all(|w| !w.is_empty()
                    && w.chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())),
                "{t}"
            );
            assert!(c.meaning().ends_with('.'), "{t}");
        }
    }
}
