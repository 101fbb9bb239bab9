//! Turning a template and checked parameter values into Markdown, and Markdown into HTML.
//!
//! Parameter values are data, never markup: each is escaped for Markdown before it goes into
//! the text, so that a company name such as `**ACME** <script>` shows as written and cannot
//! add emphasis, links or HTML. The HTML renderer additionally turns any raw HTML a template
//! author wrote into escaped text, so the HTML never contains markup the renderer did not
//! make itself.

use std::collections::BTreeMap;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

use crate::localized::Language;
use crate::template::Template;

/// A piece of template text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment<'a> {
    Literal(&'a str),
    /// `{{name}}`: the value of a parameter in words.
    Parameter(&'a str),
    /// `{{name.sentence}}`: the sentence of the chosen value of an enum parameter.
    Sentence(&'a str),
    /// `{{article:clause-id}}`: the article number of a clause of the same template.
    Article(&'a str),
}

/// Splits template text at its placeholders; refuses unclosed, empty or malformed ones.
pub(crate) fn segments(text: &str) -> Result<Vec<Segment<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push(Segment::Literal(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("placeholder {:?} is not closed with }}}}", truncate(after)))?;
        let inner = &after[..end];
        let well_formed = |name: &str| {
            !name.is_empty()
                && name
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
        };
        let segment = if let Some(clause) = inner.strip_prefix("article:") {
            Segment::Article(clause)
        } else if let Some(name) = inner.strip_suffix(".sentence") {
            Segment::Sentence(name)
        } else {
            Segment::Parameter(inner)
        };
        let name = match segment {
            Segment::Parameter(name) | Segment::Sentence(name) => name,
            Segment::Article(clause) => {
                if clause.is_empty() || clause.contains(char::is_whitespace) {
                    return Err(format!("placeholder {{{{{inner}}}}} names no clause"));
                }
                ""
            }
            Segment::Literal(_) => "",
        };
        if !matches!(segment, Segment::Article(_)) && !well_formed(name) {
            return Err(format!(
                "placeholder {{{{{inner}}}}} is not a parameter name, name.sentence or article:clause-id"
            ));
        }
        out.push(segment);
        rest = &after[end + 2..];
    }
    if rest.contains("}}") {
        return Err(format!(
            "stray }}}} without an opening {{{{ near {:?}",
            truncate(rest)
        ));
    }
    if !rest.is_empty() {
        out.push(Segment::Literal(rest));
    }
    Ok(out)
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Escapes text so that Markdown reads it as plain characters, wherever in a line it lands.
///
/// CommonMark defines a backslash before any ASCII punctuation as that character itself, so
/// escaping is always safe; we escape only where a character could mean something, to keep
/// the Markdown readable:
/// - always: the characters that open inline markup or raw HTML anywhere in a line
///   (`` \ ` * _ [ ] < > & ! ~ | # { } ``);
/// - at the start of the value: `-`, `+` and `=`, which start list items, thematic breaks and
///   heading underlines when the value stands at the beginning of a line;
/// - `.` and `)` after a run of digits at the start of the value (`1.` and `1)` start
///   ordered list items).
///
/// Elsewhere `-`, `+`, `=`, `.`, `(` and `)` cannot start markup, because the brackets a
/// link needs are always escaped. Line breaks cannot occur: parameter checks refuse control
/// characters, and any that reach this function become spaces.
pub(crate) fn escape_markdown(text: &str) -> String {
    const ALWAYS: &str = "\\`*_[]<>&!~|#{}";
    let mut out = String::with_capacity(text.len() + 8);
    let mut only_digits_so_far = true;
    for (index, character) in text.chars().enumerate() {
        let escape = ALWAYS.contains(character)
            || (index == 0 && "-+=".contains(character))
            || (only_digits_so_far && ".)".contains(character));
        if escape {
            out.push('\\');
        }
        if character.is_control() {
            out.push(' ');
        } else {
            out.push(character);
        }
        only_digits_so_far &= character.is_ascii_digit();
    }
    out
}

/// Escapes text for an HTML text node or attribute value.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The contract text in one language, with `values` (canonical, checked) substituted.
pub(crate) fn markdown(
    template: &Template,
    values: &BTreeMap<String, String>,
    language: Language,
) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# {}\n\n",
        escape_markdown(template.title.get(language))
    ));
    let notice = match language {
        Language::En => format!(
            "> Generated from the contract template `{}` version {} of tsunagu. The template is a model for negotiation between the parties, not legal advice; each party should have the text reviewed by its own counsel before concluding it.",
            template.id, template.version
        ),
        Language::Ja => format!(
            "> 本書は、tsunaguの契約テンプレート`{}`（バージョン{}）から作成したものである。本テンプレートは当事者間の協議のためのひな形であって、法的助言ではない。各当事者は、締結に先立ち、自らの法務担当者又は弁護士による確認を受けることが望ましい。",
            template.id, template.version
        ),
    };
    out.push_str(&notice);
    out.push_str("\n\n");
    out.push_str(&substitute(
        template,
        values,
        language,
        template.preamble.get(language),
    ));
    out.push_str("\n\n");
    for (index, clause) in template.clauses.iter().enumerate() {
        let number = index + 1;
        let title = escape_markdown(clause.title.get(language));
        let heading = match language {
            Language::En => format!("## Article {number} ({title})"),
            Language::Ja => format!("## 第{number}条（{title}）"),
        };
        out.push_str(&heading);
        out.push_str("\n\n");
        out.push_str(&substitute(
            template,
            values,
            language,
            clause.text.get(language),
        ));
        out.push_str("\n\n");
    }
    out.push_str(&substitute(
        template,
        values,
        language,
        template.closing.get(language),
    ));
    out.push_str("\n\n");
    out.push_str(match language {
        Language::En => "## Schedule: Agreed Particulars\n\n",
        Language::Ja => "## 別紙　合意事項\n\n",
    });
    for spec in &template.parameters {
        let Some(value) = values.get(&spec.name) else {
            continue;
        };
        let words = escape_markdown(&spec.kind.display(value, language));
        let shown = if spec.kind.shows_code() && words != escape_markdown(value) {
            match language {
                Language::En => format!("{words} (`{value}`)"),
                Language::Ja => format!("{words}（`{value}`）"),
            }
        } else {
            words
        };
        let separator = match language {
            Language::En => ": ",
            Language::Ja => "：",
        };
        out.push_str(&format!(
            "- {}{separator}{shown}\n",
            escape_markdown(spec.label.get(language))
        ));
    }
    out
}

/// Replaces the placeholders of one piece of template text. The text was checked when the
/// template was loaded, so every placeholder resolves; should one not, it is left visible
/// rather than dropped, so that a reader sees the gap.
fn substitute(
    template: &Template,
    values: &BTreeMap<String, String>,
    language: Language,
    text: &str,
) -> String {
    let Ok(parsed) = segments(text) else {
        return text.trim_end().to_owned();
    };
    let mut out = String::with_capacity(text.len() + 64);
    for segment in parsed {
        let spec = |name: &str| {
            template
                .parameters
                .iter()
                .find(|spec| spec.name == name)
                .zip(values.get(name))
        };
        match segment {
            Segment::Literal(literal) => out.push_str(literal),
            Segment::Parameter(name) => match spec(name) {
                Some((spec, value)) => {
                    out.push_str(&escape_markdown(&spec.kind.display(value, language)))
                }
                None => out.push_str(&format!("{{{{{name}}}}}")),
            },
            Segment::Sentence(name) => {
                match spec(name).and_then(|(spec, value)| spec.kind.sentence(value, language)) {
                    // Sentences are template text written by the template's author, so
                    // they keep their Markdown.
                    Some(sentence) => out.push_str(sentence.trim()),
                    None => out.push_str(&format!("{{{{{name}.sentence}}}}")),
                }
            }
            Segment::Article(clause_id) => {
                match template
                    .clauses
                    .iter()
                    .position(|clause| clause.id == clause_id)
                {
                    Some(index) => match language {
                        Language::En => out.push_str(&format!("Article {}", index + 1)),
                        Language::Ja => out.push_str(&format!("第{}条", index + 1)),
                    },
                    None => out.push_str(&format!("{{{{article:{clause_id}}}}}")),
                }
            }
        }
    }
    out.trim_end().to_owned()
}

/// Whether a link target uses a scheme that browsers execute or inline.
fn is_script_url(url: &str) -> bool {
    let normalized: String = url
        .chars()
        .filter(|character| !character.is_whitespace() && !character.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    ["javascript:", "vbscript:", "data:"]
        .iter()
        .any(|scheme| normalized.starts_with(scheme))
}

/// A complete HTML document for the Markdown text. Raw HTML in the Markdown becomes text.
pub(crate) fn html(markdown: &str, title: &str, language: Language) -> String {
    let events = Parser::new_ext(markdown, Options::empty()).map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        // Parameter values cannot make links, but a company's own template text can; a
        // link that would run script when clicked loses its target.
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) if is_script_url(&dest_url) => Event::Start(Tag::Link {
            link_type,
            dest_url: CowStr::Borrowed(""),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) if is_script_url(&dest_url) => Event::Start(Tag::Image {
            link_type,
            dest_url: CowStr::Borrowed(""),
            title,
            id,
        }),
        other => other,
    });
    let mut body = String::new();
    html::push_html(&mut body, events);
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n</head>\n<body>\n<article>\n{body}</article>\n</body>\n</html>\n",
        language.tag(),
        escape_html(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_split_and_malformed_ones_refused() {
        assert_eq!(
            segments("a {{x}} b {{y.sentence}} {{article:fees}}."),
            Ok(vec![
                Segment::Literal("a "),
                Segment::Parameter("x"),
                Segment::Literal(" b "),
                Segment::Sentence("y"),
                Segment::Literal(" "),
                Segment::Article("fees"),
                Segment::Literal("."),
            ])
        );
        for bad in ["{{x", "{{}}", "{{X}}", "{{a b}}", "x }} y", "{{article:}}"] {
            assert!(segments(bad).is_err(), "{bad}");
        }
    }

    /// The text content of an HTML fragment, with pulldown-cmark's escapes undone.
    fn text_of(html: &str) -> String {
        html.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    }

    #[test]
    fn escaped_values_render_as_the_characters_written_at_the_start_and_inside_a_line() {
        let values = [
            "**bold** _it_ `code`",
            "[a](javascript:alert(1))",
            "<script>alert(1)</script>",
            "<https://evil.example>",
            "# heading",
            "1. list",
            "12) list",
            "- item",
            "+ item",
            "* item",
            "> quote",
            "---",
            "===",
            "```rust",
            "~~~",
            "&amp; &#x3C;",
            "![img](x.png)",
            "a\\b",
            "[x]: https://evil.example",
            "ACME K.K. (Japan) - cathodes 1.5 t",
        ];
        for value in values {
            for (prefix, context) in [("", "line start"), ("Name: ", "inside a line")] {
                let markdown = format!("Before\n\n{prefix}{}\n\nAfter", escape_markdown(value));
                let rendered = html(&markdown, "t", Language::En);
                let body = rendered
                    .split_once("<article>\n")
                    .and_then(|(_, rest)| rest.split_once("</article>"))
                    .map(|(body, _)| body)
                    .unwrap();
                let paragraphs: Vec<&str> = body.lines().collect();
                assert_eq!(
                    paragraphs.len(),
                    3,
                    "{value} at {context} changed the block structure: {body}"
                );
                let middle = paragraphs[1];
                assert!(
                    middle.starts_with("<p>") && middle.ends_with("</p>"),
                    "{value} at {context}: {middle}"
                );
                let inner = &middle[3..middle.len() - 4];
                assert_eq!(
                    text_of(inner),
                    format!("{prefix}{value}"),
                    "{value} at {context}"
                );
            }
        }
        // Ordinary names stay readable in the Markdown itself.
        assert_eq!(
            escape_markdown("Battery Cell Co., Ltd. (Osaka) - did:web:cell.example"),
            "Battery Cell Co., Ltd. (Osaka) - did:web:cell.example"
        );
    }

    #[test]
    fn raw_html_in_markdown_becomes_text() {
        let rendered = html(
            "<div onclick=\"x()\">hi</div>\n\ninline <b>bold</b>",
            "<t>",
            Language::Ja,
        );
        assert!(
            !rendered.contains("<div") && !rendered.contains("<b>"),
            "{rendered}"
        );
        assert!(rendered.contains("&lt;b&gt;") && rendered.contains("<title>&lt;t&gt;</title>"));
        assert!(rendered.contains("<html lang=\"ja\">"));
    }

    #[test]
    fn script_links_in_template_text_lose_their_target() {
        let rendered = html(
            "[a](javascript:alert(1)) [b]( JavaScript:x) ![c](data:text/html,x) [d](https://example.com/terms)",
            "t",
            Language::En,
        );
        assert!(
            !rendered.to_ascii_lowercase().contains("javascript:"),
            "{rendered}"
        );
        assert!(!rendered.contains("data:"), "{rendered}");
        assert!(rendered.contains("<a href=\"https://example.com/terms\">d</a>"));
    }
}
