//! Message templates: a subject, a text part and an HTML part per
//! message, with `{{name}}` placeholders. Built-in defaults are compiled
//! in (`email/defaults/`); an operator's folder (`email.templates_dir`)
//! overrides any of them file by file: `NAME.subject`, `NAME.txt`,
//! `NAME.html`. Values are HTML-escaped in the HTML part, and line breaks
//! are removed from the subject.

use std::path::Path;

/// The messages latchkey sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A verification link for a new address.
    Verify,
    /// A password-reset link.
    Reset,
    /// A sign-in code.
    Code,
    /// To the old address, when the address changes.
    AddressChanged,
    /// After a password reset.
    PasswordReset,
}

impl Kind {
    pub const ALL: [Self; 5] = [
        Self::Verify,
        Self::Reset,
        Self::Code,
        Self::AddressChanged,
        Self::PasswordReset,
    ];

    /// The file name stem of its templates.
    pub fn name(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
            Self::Code => "code",
            Self::AddressChanged => "address_changed",
            Self::PasswordReset => "password_reset",
        }
    }

    fn defaults(self) -> [&'static str; 3] {
        macro_rules! files {
            ($n:literal) => {
                [
                    include_str!(concat!("defaults/", $n, ".subject")),
                    include_str!(concat!("defaults/", $n, ".txt")),
                    include_str!(concat!("defaults/", $n, ".html")),
                ]
            };
        }
        match self {
            Self::Verify => files!("verify"),
            Self::Reset => files!("reset"),
            Self::Code => files!("code"),
            Self::AddressChanged => files!("address_changed"),
            Self::PasswordReset => files!("password_reset"),
        }
    }
}

/// One message's templates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A message ready for the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Every message's templates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Templates(Vec<(Kind, Template)>);

impl Default for Templates {
    fn default() -> Self {
        Self(
            Kind::ALL
                .into_iter()
                .map(|k| {
                    let [subject, text, html] = k.defaults();
                    (k, Template::new(subject, text, html))
                })
                .collect(),
        )
    }
}

impl Template {
    fn new(subject: &str, text: &str, html: &str) -> Self {
        Self {
            subject: subject.trim().to_owned(),
            text: text.to_owned(),
            html: html.to_owned(),
        }
    }
}

impl Templates {
    /// The defaults, with each file found in `dir` in place of its
    /// default. A file that cannot be read is an error (named).
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut out = Self::default();
        for (kind, template) in &mut out.0 {
            for (ext, slot) in [
                ("subject", &mut template.subject),
                ("txt", &mut template.text),
                ("html", &mut template.html),
            ] {
                let path = dir.join(format!("{}.{ext}", kind.name()));
                match std::fs::read_to_string(&path) {
                    Ok(s) if ext == "subject" => *slot = s.trim().to_owned(),
                    Ok(s) => *slot = s,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
                }
            }
        }
        Ok(out)
    }

    /// `kind`'s message with `vars` filled in.
    pub fn render(&self, kind: Kind, vars: &[(&str, &str)]) -> Rendered {
        let template = self
            .0
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| {
                let [s, t, h] = kind.defaults();
                Template::new(s, t, h)
            });
        let one_line = |s: &str| s.replace(['\r', '\n'], " ");
        Rendered {
            subject: one_line(&fill(&template.subject, vars, &one_line)),
            text: fill(&template.text, vars, &str::to_owned),
            html: fill(&template.html, vars, &escape_html),
        }
    }
}

/// `template` with every `{{name}}` of `vars` replaced by its value
/// passed through `encode`; unknown placeholders stay as they are.
fn fill(template: &str, vars: &[(&str, &str)], encode: &dyn Fn(&str) -> String) -> String {
    let mut out = template.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), &encode(value));
    }
    out
}

/// Text safe inside HTML elements and quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_html_and_kept_on_one_line_in_the_subject() {
        let t = Templates::default();
        let m = t.render(Kind::Code, &[("code", "12\n<b>"), ("username", "a&b")]);
        assert_eq!(m.subject, "Your sign-in code: 12 <b>");
        assert!(m.text.contains("Hello a&b,"));
        assert!(m.html.contains("Hello a&amp;b,"));
        assert!(m.html.contains("12\n&lt;b&gt;"));
    }

    #[test]
    fn a_folder_overrides_file_by_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|_| unreachable!());
        std::fs::write(dir.path().join("reset.subject"), "Mot de passe\n")
            .unwrap_or_else(|_| unreachable!());
        let t = Templates::load(dir.path()).unwrap_or_else(|_| unreachable!());
        let m = t.render(Kind::Reset, &[("link", "https://x/reset?token=t")]);
        assert_eq!(m.subject, "Mot de passe");
        assert!(m.text.contains("https://x/reset?token=t"));
        assert_eq!(
            t.render(Kind::Code, &[]).subject,
            "Your sign-in code: {{code}}"
        );
    }
}
