//! The passport page: server-rendered HTML with inline CSS and inline SVG charts, no script,
//! readable on a phone, in English and Japanese.
//!
//! It renders only what the view holds: a field the caller's group may not see is not in the
//! view, so it cannot appear here. Every text from the passport is escaped; a link is
//! rendered as a link only when it is an `http(s)` URL.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::access::Caller;
use crate::attributes::AccessGroup;
use crate::demo::lifecycle_label;
use crate::model::PassportStatus;
use crate::service::{DynamicReading, StoredPassport};
use crate::signed::PassportView;
use tsunagu_pcf::LifeCycleStage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// `?lang=` wins; otherwise the first of English or Japanese in `Accept-Language`.
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        match query {
            Some("ja") => return Lang::Ja,
            Some("en") => return Lang::En,
            _ => {}
        }
        let Some(header) = accept_language else {
            return Lang::En;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag == "ja" || tag.starts_with("ja-") {
                Lang::Ja
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::En)
    }
}

/// The words of the page.
fn t(lang: Lang, key: &str) -> &'static str {
    let (en, ja) = match key {
        "title" => ("Battery passport", "バッテリーパスポート"),
        "identification" => ("Identification", "識別情報"),
        "battery_id" => ("Battery identifier", "バッテリー識別子"),
        "passport_id" => ("Passport identifier", "パスポート識別子"),
        "category" => ("Category", "区分"),
        "model" => ("Model", "モデル"),
        "serial" => ("Serial number", "シリアル番号"),
        "manufacturer" => ("Manufacturer", "製造者"),
        "plant" => ("Place of manufacture", "製造場所"),
        "manufactured" => ("Date of manufacture", "製造日"),
        "placed" => ("Placed on the market", "上市日"),
        "into_service" => ("Put into service", "使用開始日"),
        "warranty" => ("Warranty", "保証期間"),
        "weight" => ("Weight", "質量"),
        "chemistry" => ("Chemistry and composition", "化学組成と構成"),
        "chem" => ("Chemistry", "化学系"),
        "critical" => ("Critical raw materials", "重要原材料"),
        "hazardous" => ("Hazardous substances", "有害物質"),
        "composition" => (
            "Materials of cathode, anode and electrolyte",
            "正極・負極・電解質の材料",
        ),
        "material" => ("Material", "材料"),
        "location" => ("Where", "部位"),
        "share" => ("Share", "含有率"),
        "none_detected" => ("none", "なし"),
        "carbon" => ("Carbon footprint", "カーボンフットプリント"),
        "per_kwh" => (
            "kg CO₂e per kWh delivered over the service life",
            "耐用期間中の供給電力量1kWhあたり kg CO₂e",
        ),
        "total" => ("Total", "合計"),
        "class" => ("Performance class", "性能クラス"),
        "declaration" => ("Carbon footprint declaration", "カーボンフットプリント宣言"),
        "recycled" => ("Recycled content", "再生材含有率"),
        "renewable" => ("Renewable content", "再生可能材料含有率"),
        "nickel" => ("Nickel", "ニッケル"),
        "cobalt" => ("Cobalt", "コバルト"),
        "lithium" => ("Lithium", "リチウム"),
        "lead" => ("Lead", "鉛"),
        "performance" => ("Performance and durability", "性能と耐久性"),
        "capacity" => ("Rated capacity", "定格容量"),
        "energy" => ("Certified usable energy", "認証使用可能エネルギー"),
        "voltage" => ("Voltage (min / nominal / max)", "電圧（最小／公称／最大）"),
        "power" => ("Original power capability", "初期出力"),
        "efficiency" => (
            "Round-trip efficiency (initial / at 50 % of cycle life)",
            "往復効率（初期／サイクル寿命50%時）",
        ),
        "resistance" => (
            "Internal resistance (cell / pack)",
            "内部抵抗（セル／パック）",
        ),
        "cycles" => ("Expected cycle life", "期待サイクル寿命"),
        "threshold" => ("Capacity threshold for exhaustion", "容量劣化しきい値"),
        "temperature" => ("Idle temperature range", "保管温度範囲"),
        "health" => ("State of health", "健全性（SOH）"),
        "soh_chart" => (
            "State of certified energy over time",
            "認証エネルギー状態（SOCE）の推移",
        ),
        "soc" => ("State of charge", "充電状態"),
        "soce" => ("State of certified energy", "認証エネルギー状態"),
        "full_cycles" => ("Full charge-discharge cycles", "フル充放電サイクル数"),
        "remaining_capacity" => ("Remaining capacity", "残存容量"),
        "negative_events" => ("Negative events", "異常事象"),
        "no_events" => ("none recorded", "記録なし"),
        "safety" => ("Safety and end of life", "安全性と使用済み時の扱い"),
        "extinguish" => ("Extinguishing agent", "消火剤"),
        "labels" => ("Meaning of labels", "表示の意味"),
        "collection" => ("Separate collection", "分別回収"),
        "prevention" => ("Waste prevention", "廃棄物の削減"),
        "dismantling" => ("Dismantling and removal", "解体・取り外し"),
        "safety_measures" => ("Safety measures", "安全対策"),
        "spare_parts" => ("Spare parts", "交換部品"),
        "status" => ("Status and linked passports", "ステータスと関連パスポート"),
        "passport_status" => ("Passport status", "パスポートの状態"),
        "battery_state" => ("Battery status", "バッテリーの状態"),
        "predecessor" => ("Previous passport", "以前のパスポート"),
        "successor" => ("Superseded by", "後継パスポート"),
        "approved" => ("valid", "有効"),
        "superseded" => ("superseded", "後継に移行済み"),
        "ended" => ("ended: the battery was recycled", "終了（リサイクル済み）"),
        "draft" => ("draft", "下書き"),
        "conformity" => ("Conformity", "適合性"),
        "doc" => ("EU declaration of conformity", "EU適合宣言"),
        "due_diligence" => ("Due diligence report", "デューデリジェンス報告書"),
        "test_reports" => ("Results of test reports", "試験報告書の結果"),
        "restricted_note" => (
            "Some information is available only to persons with a legitimate interest and to authorities.",
            "一部の情報は正当な利益を有する者および当局のみが閲覧できます。",
        ),
        "login" => ("Sign in with credentials", "資格情報でサインイン"),
        "signed_in" => ("Signed in as", "サインイン中"),
        "logout" => ("Sign out", "サインアウト"),
        "group_public" => ("public view", "一般公開"),
        "group_legitimate-interest" => ("legitimate interest", "正当な利益を有する者"),
        "group_authorities" => ("authorities", "当局"),
        "json" => ("Machine-readable (JSON)", "機械可読データ（JSON）"),
        "qr" => ("QR code of this passport", "このパスポートのQRコード"),
        "signed_by" => ("Signed by the economic operator", "経済事業者による署名"),
        "other_lang" => ("日本語", "English"),
        "stage_raw" => (
            "Raw material acquisition and pre-processing",
            "原材料の取得と前処理",
        ),
        "stage_main" => ("Main product production", "主製品の製造"),
        "stage_distribution" => ("Distribution", "流通"),
        "stage_eol" => ("End of life and recycling", "使用済み・リサイクル"),
        "original" => ("original", "オリジナル"),
        "repurposed" => ("repurposed", "用途変更"),
        "re-used" => ("re-used", "再使用"),
        "remanufactured" => ("remanufactured", "再製造"),
        "waste" => ("waste", "廃棄物"),
        _ => ("", ""),
    };
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

fn num(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn at<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    value.pointer(pointer)
}

fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    at(value, pointer).and_then(Value::as_str)
}

fn number(value: &Value, pointer: &str) -> Option<f64> {
    at(value, pointer).and_then(Value::as_f64)
}

fn unit_label(unit: &str) -> &str {
    match unit.strip_prefix("unit:").unwrap_or(unit) {
        "kilogram" => "kg",
        "gram" => "g",
        "millimetre" => "mm",
        "year" => "years",
        "month" => "months",
        "day" => "days",
        "percent" => "%",
        "partPerMillion" => "ppm",
        other => other,
    }
}

/// Everything a page needs.
pub(crate) struct Page<'a> {
    pub(crate) lang: Lang,
    pub passport: &'a StoredPassport,
    pub view: &'a PassportView,
    /// The history of readings, for views that include dynamic data.
    pub readings: &'a [DynamicReading],
    pub caller: Option<&'a Caller>,
    pub operator_did: &'a str,
}

struct Out {
    html: String,
}

impl Out {
    fn raw(&mut self, text: &str) {
        self.html.push_str(text);
    }

    fn row(&mut self, label: &str, value: &str) {
        let _ = write!(
            self.html,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            esc(label),
            esc(value)
        );
    }

    fn row_html(&mut self, label: &str, value_html: &str) {
        let _ = write!(
            self.html,
            "<tr><th scope=\"row\">{}</th><td>{value_html}</td></tr>",
            esc(label)
        );
    }

    fn section(&mut self, id: &str, title: &str) {
        let _ = write!(
            self.html,
            "<section id=\"{id}\"><h2>{}</h2><table>",
            esc(title)
        );
    }

    fn end_section(&mut self) {
        self.raw("</table></section>");
    }
}

/// A list of document links (`[{header, content}]`), each a link when its content is an
/// http(s) URL.
fn documents(value: Option<&Value>) -> String {
    let Some(Value::Array(items)) = value else {
        return String::new();
    };
    let links: Vec<String> = items
        .iter()
        .filter_map(|item| {
            let header = item
                .get("header")
                .and_then(Value::as_str)
                .unwrap_or("document");
            let content = item.get("content").and_then(Value::as_str)?;
            Some(link(header, content))
        })
        .collect();
    links.join("<br>")
}

fn link(label: &str, url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
            format!(
                "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
                esc(parsed.as_str()),
                esc(label)
            )
        }
        _ => esc(label),
    }
}

const STYLE: &str = "\
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans JP',sans-serif;color:#1b1f23;background:#f4f6f8}\
header{background:#0b3d2e;color:#fff;padding:1rem}header h1{margin:0 0 .25rem;font-size:1.4rem}header p{margin:.1rem 0;word-break:break-all}\
header a{color:#c8f7dc}nav{display:flex;gap:1rem;flex-wrap:wrap;margin-top:.5rem;font-size:.9rem}\
main{max-width:52rem;margin:0 auto;padding:.5rem}section{background:#fff;border-radius:.5rem;margin:.75rem 0;padding:.75rem 1rem;box-shadow:0 1px 2px #0002}\
h2{font-size:1.1rem;margin:.2rem 0 .5rem;color:#0b3d2e}table{width:100%;border-collapse:collapse}th,td{text-align:left;vertical-align:top;padding:.3rem .25rem;border-bottom:1px solid #e6e9ec}\
th{font-weight:600;width:45%}td{word-break:break-word}.badge{display:inline-block;padding:.05rem .6rem;border-radius:1rem;font-weight:700}\
.ok{background:#d4f5e2;color:#0b5d36}.warn{background:#fff1c2;color:#6b4e00}.end{background:#f8d7da;color:#7a1c25}\
.class{font-size:1.6rem;background:#0b3d2e;color:#fff;border-radius:.3rem;padding:0 .6rem}svg{max-width:100%;height:auto}\
.note{font-size:.9rem;color:#555}footer{max-width:52rem;margin:0 auto;padding:1rem;font-size:.85rem;color:#555;word-break:break-all}\
@media(max-width:30rem){th{width:50%}body{font-size:15px}}";

/// Renders the page.
pub(crate) fn render(page: &Page<'_>) -> String {
    let lang = page.lang;
    let pass = &page.view.passport;
    let id = page.passport.id;
    let mut out = Out {
        html: String::with_capacity(24 * 1024),
    };
    let name = text(
        pass,
        "/identification/identification/type/nameAtManufacturer",
    )
    .unwrap_or("");
    let other = match lang {
        Lang::En => "ja",
        Lang::Ja => "en",
    };
    let _ = write!(
        out.html,
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{} – {}</title><style>{STYLE}</style></head><body>",
        lang.code(),
        esc(t(lang, "title")),
        esc(name)
    );
    // Header.
    let status_badge = match (
        page.passport.ended_at,
        page.passport.successor,
        page.passport.pass.passport_status(),
    ) {
        (Some(_), _, _) => format!(
            "<span class=\"badge end\" id=\"passport-status\">{}</span>",
            esc(t(lang, "ended"))
        ),
        (None, Some(_), _) => format!(
            "<span class=\"badge warn\" id=\"passport-status\">{}</span>",
            esc(t(lang, "superseded"))
        ),
        (None, None, PassportStatus::Draft) => format!(
            "<span class=\"badge warn\" id=\"passport-status\">{}</span>",
            esc(t(lang, "draft"))
        ),
        _ => format!(
            "<span class=\"badge ok\" id=\"passport-status\">{}</span>",
            esc(t(lang, "approved"))
        ),
    };
    let _ = write!(
        out.html,
        "<header><h1>{} · {}</h1><p id=\"battery-id\">{}: {}</p><p>{}</p><nav><a id=\"lang-switch\" href=\"/passports/{id}?lang={other}\" hreflang=\"{other}\">{}</a><a href=\"/passports/{id}/qr.svg\">{}</a>",
        esc(t(lang, "title")),
        esc(name),
        esc(t(lang, "battery_id")),
        esc(&page.passport.battery.to_string()),
        status_badge,
        esc(t(lang, "other_lang")),
        esc(t(lang, "qr")),
    );
    match page.caller {
        Some(caller) => {
            let _ = write!(
                out.html,
                "<span id=\"caller\">{} {} ({})</span><form method=\"post\" action=\"/passports/logout\" style=\"display:inline\"><button type=\"submit\">{}</button></form>",
                esc(t(lang, "signed_in")),
                esc(&caller.did),
                esc(t(lang, &format!("group_{}", caller.group.as_str()))),
                esc(t(lang, "logout"))
            );
        }
        None => {
            let _ = write!(
                out.html,
                "<a id=\"login\" href=\"/passports/login?next={id}&amp;lang={}\">{}</a>",
                lang.code(),
                esc(t(lang, "login"))
            );
        }
    }
    out.raw("</nav></header><main>");
    if page.view.group == AccessGroup::Public {
        let _ = write!(
            out.html,
            "<p class=\"note\">{}</p>",
            esc(t(lang, "restricted_note"))
        );
    }

    identification(&mut out, page, pass);
    chemistry(&mut out, lang, pass);
    carbon(&mut out, lang, pass);
    recycled(&mut out, lang, pass);
    performance(&mut out, page, pass);
    safety(&mut out, lang, pass);
    status(&mut out, page, pass);
    conformity(&mut out, lang, pass);

    let _ = write!(
        out.html,
        "</main><footer><p>{}: <span id=\"operator\">{}</span></p><p><a href=\"/passports/{id}?format=json\" id=\"json-link\">{}</a> · {}: {}</p><p><img src=\"/passports/{id}/qr.svg\" alt=\"{}\" width=\"128\" height=\"128\"></p></footer></body></html>",
        esc(t(lang, "signed_by")),
        esc(page.operator_did),
        esc(t(lang, "json")),
        esc(t(lang, "passport_id")),
        esc(&id.urn()),
        esc(t(lang, "qr")),
    );
    out.html
}

fn identification(out: &mut Out, page: &Page<'_>, pass: &Value) {
    let lang = page.lang;
    out.section("identification", t(lang, "identification"));
    out.row(t(lang, "battery_id"), &page.passport.battery.to_string());
    out.row(t(lang, "passport_id"), &page.passport.id.urn());
    if let Some(category) = text(pass, "/identification/category") {
        out.row(t(lang, "category"), category);
    }
    if let Some(model) = text(
        pass,
        "/identification/identification/type/manufacturerPartId",
    ) {
        out.row(t(lang, "model"), model);
    }
    if let Some(Value::Array(serials)) = at(pass, "/identification/identification/serial") {
        let list: Vec<&str> = serials
            .iter()
            .filter_map(|s| s.get("value").and_then(Value::as_str))
            .collect();
        out.row(t(lang, "serial"), &list.join(", "));
    }
    if let Some(manufacturer) = text(pass, "/operation/manufacturer/manufacturer") {
        out.row(t(lang, "manufacturer"), manufacturer);
    }
    if let Some(Value::Array(plants)) = at(pass, "/operation/manufacturer/facility") {
        let list: Vec<&str> = plants
            .iter()
            .filter_map(|s| s.get("facility").and_then(Value::as_str))
            .collect();
        out.row(t(lang, "plant"), &list.join(", "));
    }
    for (key, pointer) in [
        ("manufactured", "/operation/manufacturer/manufacturingDate"),
        ("placed", "/commercial/placedOnMarket"),
        ("into_service", "/operation/intoServiceDate"),
    ] {
        if let Some(date) = text(pass, pointer) {
            out.row(t(lang, key), date);
        }
    }
    if let (Some(value), Some(unit)) = (
        number(pass, "/characteristics/warranty/lifeValue"),
        text(pass, "/characteristics/warranty/lifeUnit"),
    ) {
        out.row(
            t(lang, "warranty"),
            &format!("{} {}", num(value), unit_label(unit)),
        );
    }
    if let (Some(value), Some(unit)) = (
        number(pass, "/characteristics/physicalDimension/weight/value"),
        text(pass, "/characteristics/physicalDimension/weight/unit"),
    ) {
        out.row(
            t(lang, "weight"),
            &format!("{} {}", num(value), unit_label(unit)),
        );
    }
    out.end_section();
}

fn chemistry(out: &mut Out, lang: Lang, pass: &Value) {
    out.section("chemistry", t(lang, "chemistry"));
    if let Some(chemistry) = text(pass, "/identification/chemistry") {
        out.row(t(lang, "chem"), chemistry);
    }
    let mut critical = Vec::new();
    for metal in ["nickel", "cobalt", "lithium", "lead"] {
        if at(pass, &format!("/materials/active/{metal}/critical")).and_then(Value::as_bool)
            == Some(true)
        {
            critical.push(t(lang, metal).to_owned());
        }
    }
    if let Some(Value::Array(others)) = at(pass, "/materials/active/other") {
        for other in others {
            if other.get("critical").and_then(Value::as_bool) == Some(true)
                && let Some(Value::Array(ids)) = other.get("materialIdentification")
            {
                critical.extend(
                    ids.iter()
                        .filter_map(|i| i.get("name").and_then(Value::as_str))
                        .map(str::to_owned),
                );
            }
        }
    }
    if !critical.is_empty() {
        out.row(t(lang, "critical"), &critical.join(", "));
    }
    let mut hazardous = Vec::new();
    for substance in ["cadmium", "mercury", "lead"] {
        if let (Some(c), Some(unit)) = (
            number(
                pass,
                &format!("/materials/hazardous/{substance}/concentration"),
            ),
            text(
                pass,
                &format!("/materials/hazardous/{substance}/materialUnit"),
            ),
        ) {
            hazardous.push(format!("{substance}: {} {}", num(c), unit_label(unit)));
        }
    }
    if let Some(Value::Array(others)) = at(pass, "/materials/hazardous/other") {
        for other in others {
            let name = other
                .pointer("/materialIdentification/0/name")
                .and_then(Value::as_str)
                .unwrap_or("?");
            if let (Some(c), Some(unit)) = (
                other.get("concentration").and_then(Value::as_f64),
                other.get("materialUnit").and_then(Value::as_str),
            ) {
                hazardous.push(format!("{name}: {} {}", num(c), unit_label(unit)));
            }
        }
    }
    if !hazardous.is_empty() {
        out.row(t(lang, "hazardous"), &hazardous.join("; "));
    }
    out.end_section();
    // The composition (legitimate interest): only when the view holds it.
    if let Some(Value::Array(entries)) = at(pass, "/materials/composition") {
        let rows: Vec<String> = entries
            .iter()
            .filter(|e| e.get("location").is_some() || e.get("id").is_some())
            .map(|e| {
                let name = e
                    .pointer("/id/0/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let location = e.get("location").and_then(Value::as_str).unwrap_or("");
                let share = match (
                    e.get("concentration").and_then(Value::as_f64),
                    e.get("unit").and_then(Value::as_str),
                ) {
                    (Some(c), Some(u)) => format!("{} {}", num(c), unit_label(u)),
                    _ => String::new(),
                };
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(name),
                    esc(location),
                    esc(&share)
                )
            })
            .collect();
        if !rows.is_empty() {
            let _ = write!(
                out.html,
                "<section id=\"composition\"><h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table></section>",
                esc(t(lang, "composition")),
                esc(t(lang, "material")),
                esc(t(lang, "location")),
                esc(t(lang, "share")),
                rows.join("")
            );
        }
    }
}

fn stage_key(lifecycle: &str) -> Option<&'static str> {
    [
        (
            LifeCycleStage::RawMaterialAcquisitionAndPreProcessing,
            "stage_raw",
        ),
        (LifeCycleStage::MainProduction, "stage_main"),
        (LifeCycleStage::Distribution, "stage_distribution"),
        (LifeCycleStage::EndOfLifeAndRecycling, "stage_eol"),
    ]
    .into_iter()
    .find(|(stage, _)| lifecycle_label(*stage) == lifecycle)
    .map(|(_, key)| key)
}

fn carbon(out: &mut Out, lang: Lang, pass: &Value) {
    let Some(Value::Array(entries)) = at(pass, "/sustainability/carbonFootprint") else {
        return;
    };
    let bars: Vec<(String, f64)> = entries
        .iter()
        .filter(|e| e.get("type").and_then(Value::as_str) == Some("Climate Change Total"))
        .filter_map(|e| {
            let lifecycle = e.get("lifecycle").and_then(Value::as_str)?;
            let value = e.get("value").and_then(Value::as_f64)?;
            let label = stage_key(lifecycle)
                .map(|k| t(lang, k).to_owned())
                .unwrap_or_else(|| lifecycle.to_owned());
            Some((label, value))
        })
        .collect();
    out.section("carbon-footprint", t(lang, "carbon"));
    let total: f64 = bars.iter().map(|(_, v)| v).sum();
    out.row_html(
        t(lang, "total"),
        &format!(
            "<strong id=\"cfp-total\">{}</strong> {}",
            esc(&num(total)),
            esc(t(lang, "per_kwh"))
        ),
    );
    if let Some(class) = entries
        .iter()
        .find_map(|e| e.get("performanceClass").and_then(Value::as_str))
        .filter(|c| !c.is_empty())
    {
        out.row_html(
            t(lang, "class"),
            &format!(
                "<span class=\"class\" id=\"cfp-class\">{}</span>",
                esc(class)
            ),
        );
    }
    if let Some(declaration) = entries.iter().find_map(|e| e.get("declaration")) {
        out.row_html(t(lang, "declaration"), &documents(Some(declaration)));
    }
    out.raw("</table>");
    bar_chart(out, &bars);
    out.raw("</section>");
}

/// A horizontal bar chart, one bar per stage, scaled to the largest, each label above its
/// bar so that the chart stays legible on a phone (the view box is about a phone's width).
fn bar_chart(out: &mut Out, bars: &[(String, f64)]) {
    if bars.is_empty() {
        return;
    }
    let max = bars
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let row = 46.0;
    let height = row * bars.len() as f64 + 4.0;
    let _ = write!(
        out.html,
        "<svg id=\"cfp-chart\" role=\"img\" viewBox=\"0 0 360 {height}\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"13\">"
    );
    for (index, (label, value)) in bars.iter().enumerate() {
        let y = index as f64 * row;
        let width = (value / max * 270.0).max(1.0);
        let _ = write!(
            out.html,
            "<text x=\"0\" y=\"{:.1}\" fill=\"#1b1f23\">{}</text><rect x=\"0\" y=\"{:.1}\" width=\"{width:.1}\" height=\"20\" rx=\"3\" fill=\"#1f8a5b\"><title>{}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#1b1f23\">{}</text>",
            y + 14.0,
            esc(&truncate(label, 44)),
            y + 20.0,
            esc(label),
            width + 5.0,
            y + 35.0,
            esc(&num(*value)),
        );
    }
    out.raw("</svg>");
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

fn recycled(out: &mut Out, lang: Lang, pass: &Value) {
    out.section("recycled-content", t(lang, "recycled"));
    for metal in ["nickel", "cobalt", "lithium", "lead"] {
        if let Some(share) = number(pass, &format!("/materials/active/{metal}/recycled")) {
            out.row(t(lang, metal), &format!("{} %", num(share)));
        }
    }
    if let Some(Value::Array(entries)) = at(pass, "/materials/composition") {
        let renewable: f64 = entries
            .iter()
            .filter_map(|e| e.get("renewable").and_then(Value::as_f64))
            .sum();
        out.row(t(lang, "renewable"), &format!("{} %", num(renewable)));
    }
    out.end_section();
}

fn performance(out: &mut Out, page: &Page<'_>, pass: &Value) {
    let lang = page.lang;
    out.section("performance", t(lang, "performance"));
    let r = "/performance/rated";
    if let Some(v) = number(pass, &format!("{r}/capacity/value")) {
        out.row(t(lang, "capacity"), &format!("{} Ah", num(v)));
    }
    if let Some(v) = number(pass, &format!("{r}/energy/value")) {
        out.row(t(lang, "energy"), &format!("{} kWh", num(v)));
    }
    if let (Some(min), Some(nominal), Some(max)) = (
        number(pass, &format!("{r}/voltage/min")),
        number(pass, &format!("{r}/voltage/nominal")),
        number(pass, &format!("{r}/voltage/max")),
    ) {
        out.row(
            t(lang, "voltage"),
            &format!("{} / {} / {} V", num(min), num(nominal), num(max)),
        );
    }
    if let Some(v) = number(pass, &format!("{r}/power/value")) {
        out.row(t(lang, "power"), &format!("{} kW", num(v / 1000.0)));
    }
    if let (Some(initial), Some(half)) = (
        number(pass, &format!("{r}/roundTripEfficiency/initial")),
        number(pass, &format!("{r}/roundTripEfficiency/50PercentLife")),
    ) {
        out.row(
            t(lang, "efficiency"),
            &format!("{} % / {} %", num(initial), num(half)),
        );
    }
    if let (Some(cell), Some(pack)) = (
        number(pass, &format!("{r}/resistance/cell")),
        number(pass, &format!("{r}/resistance/pack")),
    ) {
        out.row(
            t(lang, "resistance"),
            &format!("{} Ω / {} Ω", num(cell), num(pack)),
        );
    }
    if let Some(v) = number(pass, &format!("{r}/lifetime/cycleLifeTesting/cycles")) {
        out.row(t(lang, "cycles"), &num(v));
    }
    if let Some(v) = number(pass, &format!("{r}/capacity/thresholdExhaustion")) {
        out.row(t(lang, "threshold"), &format!("{} %", num(v)));
    }
    if let (Some(lower), Some(upper)) = (
        number(pass, &format!("{r}/temperature/lower")),
        number(pass, &format!("{r}/temperature/upper")),
    ) {
        out.row(
            t(lang, "temperature"),
            &format!("{} °C … {} °C", num(lower), num(upper)),
        );
    }
    out.end_section();

    // The dynamic data (legitimate interest): only when the view holds it.
    let Some(dynamic) = at(pass, "/performance/dynamic") else {
        return;
    };
    out.section("state-of-health", t(lang, "health"));
    if let Some(v) = dynamic
        .pointer("/energy/soce/value")
        .and_then(Value::as_f64)
    {
        out.row_html(
            t(lang, "soce"),
            &format!("<span id=\"soce\">{} %</span>", esc(&num(v))),
        );
    }
    if let Some(v) = dynamic
        .pointer("/stateOfCharge/value")
        .and_then(Value::as_f64)
    {
        out.row(t(lang, "soc"), &format!("{} %", num(v)));
    }
    if let Some(v) = dynamic.pointer("/fullCycles/value").and_then(Value::as_f64) {
        out.row(t(lang, "full_cycles"), &num(v));
    }
    if let Some(v) = dynamic
        .pointer("/capacity/capacity/value")
        .and_then(Value::as_f64)
    {
        out.row(t(lang, "remaining_capacity"), &format!("{} Ah", num(v)));
    }
    let events = documents(dynamic.get("negativeEvents"));
    if events.is_empty() {
        out.row(t(lang, "negative_events"), t(lang, "no_events"));
    } else {
        out.row_html(t(lang, "negative_events"), &events);
    }
    out.raw("</table>");
    let points: Vec<(DateTime<Utc>, f64)> = page
        .readings
        .iter()
        .filter_map(|r| Some((r.at?, r.state_of_certified_energy?)))
        .collect();
    soh_chart(out, lang, &points);
    out.raw("</section>");
}

/// A line chart of the state of certified energy, time on the x axis, 0 to 100 % on y.
fn soh_chart(out: &mut Out, lang: Lang, points: &[(DateTime<Utc>, f64)]) {
    if points.is_empty() {
        return;
    }
    let (left, right, top, bottom) = (40.0, 350.0, 10.0, 170.0);
    let first = points[0].0.timestamp() as f64;
    let last = points[points.len() - 1].0.timestamp() as f64;
    let span = (last - first).max(1.0);
    let x = |at: &DateTime<Utc>| left + (at.timestamp() as f64 - first) / span * (right - left);
    let y = |v: f64| bottom - v.clamp(0.0, 100.0) / 100.0 * (bottom - top);
    let _ = write!(
        out.html,
        "<svg id=\"soh-chart\" role=\"img\" viewBox=\"0 0 360 200\" xmlns=\"http://www.w3.org/2000/svg\" font-size=\"12\"><title>{}</title>",
        esc(t(lang, "soh_chart"))
    );
    for grid in [0.0, 50.0, 80.0, 100.0] {
        let _ = write!(
            out.html,
            "<line x1=\"{left}\" x2=\"{right}\" y1=\"{0:.1}\" y2=\"{0:.1}\" stroke=\"#d0d7de\"/><text x=\"0\" y=\"{1:.1}\">{2} %</text>",
            y(grid),
            y(grid) + 4.0,
            num(grid)
        );
    }
    let polyline: Vec<String> = points
        .iter()
        .map(|(at, v)| format!("{:.1},{:.1}", x(at), y(*v)))
        .collect();
    let _ = write!(
        out.html,
        "<polyline fill=\"none\" stroke=\"#1f8a5b\" stroke-width=\"2.5\" points=\"{}\"/>",
        polyline.join(" ")
    );
    for (at, v) in points {
        let _ = write!(
            out.html,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#0b3d2e\"><title>{} {} %</title></circle>",
            x(at),
            y(*v),
            esc(&at.format("%Y-%m-%d").to_string()),
            esc(&num(*v))
        );
    }
    let _ = write!(
        out.html,
        "<text x=\"{left}\" y=\"190\">{}</text><text x=\"{right}\" y=\"190\" text-anchor=\"end\">{}</text></svg>",
        esc(&points[0].0.format("%Y-%m-%d").to_string()),
        esc(&points[points.len() - 1].0.format("%Y-%m-%d").to_string())
    );
}

fn safety(out: &mut Out, lang: Lang, pass: &Value) {
    out.section("safety", t(lang, "safety"));
    if let Some(Value::Array(agents)) = at(pass, "/safety/usableExtinguishAgent") {
        let list: Vec<String> = agents
            .iter()
            .map(|a| {
                format!(
                    "{} ({})",
                    a.get("media").and_then(Value::as_str).unwrap_or(""),
                    a.get("fireClass").and_then(Value::as_str).unwrap_or("")
                )
            })
            .collect();
        out.row(t(lang, "extinguish"), &list.join("; "));
    }
    for (key, pointer) in [
        ("labels", "/safety/meaningOfLabels"),
        ("collection", "/sustainability/documents/separateCollection"),
        ("prevention", "/sustainability/documents/wastePrevention"),
        ("dismantling", "/safety/dismantling"),
        ("safety_measures", "/safety/safetyMeasures"),
    ] {
        let links = documents(at(pass, pointer));
        if !links.is_empty() {
            out.row_html(t(lang, key), &links);
        }
    }
    if let Some(Value::Array(parts)) = at(pass, "/handling/content/sparePart") {
        let list: Vec<String> = parts
            .iter()
            .map(|p| {
                format!(
                    "{} ({})",
                    p.get("nameAtManufacturer")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    p.get("manufacturerPartId")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                )
            })
            .collect();
        out.row(t(lang, "spare_parts"), &list.join("; "));
    }
    out.end_section();
}

fn status(out: &mut Out, page: &Page<'_>, pass: &Value) {
    let lang = page.lang;
    out.section("status", t(lang, "status"));
    let passport_status = if page.passport.ended_at.is_some() {
        t(lang, "ended")
    } else if page.passport.successor.is_some() {
        t(lang, "superseded")
    } else {
        t(lang, "approved")
    };
    out.row(t(lang, "passport_status"), passport_status);
    if let Some(state) = text(pass, "/sustainability/status") {
        let label = t(lang, state);
        out.row_html(
            t(lang, "battery_state"),
            &format!(
                "<span id=\"battery-state\">{}</span>",
                esc(if label.is_empty() { state } else { label })
            ),
        );
    }
    if let Some(previous) = page.passport.predecessor {
        out.row_html(
            t(lang, "predecessor"),
            &format!(
                "<a id=\"predecessor\" href=\"/passports/{previous}?lang={}\">{}</a>",
                lang.code(),
                esc(&previous.urn())
            ),
        );
    }
    if let Some(next) = page.passport.successor {
        out.row_html(
            t(lang, "successor"),
            &format!(
                "<a id=\"successor\" href=\"/passports/{next}?lang={}\">{}</a>",
                lang.code(),
                esc(&next.urn())
            ),
        );
    }
    out.end_section();
}

fn conformity(out: &mut Out, lang: Lang, pass: &Value) {
    out.section("conformity", t(lang, "conformity"));
    for (key, pointer) in [
        ("doc", "/conformity/declarationOfConformity"),
        ("due_diligence", "/conformity/dueDiligencePolicy"),
        ("test_reports", "/conformity/resultOfTestReport"),
        ("test_reports", "/performance/rated/testReport"),
    ] {
        let links = documents(at(pass, pointer));
        if !links.is_empty() {
            out.row_html(t(lang, key), &links);
        }
    }
    out.end_section();
}

/// The login page: the nonce to present over, the audience, and a form for the
/// presentation (a `vp+jwt` made by the caller's wallet or connector).
pub(crate) fn login_page(
    lang: Lang,
    nonce: &str,
    audience: &str,
    next: Option<&str>,
    error: Option<&str>,
) -> String {
    let (title, explain, submit) = match lang {
        Lang::En => (
            "Sign in with credentials",
            "Present a verifiable presentation (vp+jwt) made for this audience and nonce, holding your data space membership and role credentials.",
            "Sign in",
        ),
        Lang::Ja => (
            "資格情報でサインイン",
            "この audience と nonce 向けに作成した検証可能な提示（vp+jwt）を、データスペースの会員資格と役割の資格情報とともに提示してください。",
            "サインイン",
        ),
    };
    let error_html = error
        .map(|e| format!("<p class=\"badge end\" id=\"login-error\">{}</p>", esc(e)))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><header><h1>{}</h1></header><main><section>{error_html}<p>{}</p><table><tr><th>audience</th><td id=\"audience\">{}</td></tr><tr><th>nonce</th><td id=\"nonce\">{}</td></tr></table><form method=\"post\" action=\"/passports/session\"><input type=\"hidden\" name=\"next\" value=\"{}\"><textarea name=\"presentation\" rows=\"8\" style=\"width:100%\" required></textarea><p><button type=\"submit\">{}</button></p></form></section></main></body></html>",
        lang.code(),
        esc(title),
        esc(title),
        esc(explain),
        esc(audience),
        esc(nonce),
        esc(next.unwrap_or("")),
        esc(submit),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn links_only_for_http_urls() {
        assert_eq!(link("x", "javascript:alert(1)"), "x");
        assert!(
            link("x", "https://a.example/d?q=\"")
                .starts_with("<a href=\"https://a.example/d?q=%22\"")
        );
        assert_eq!(link("<b>", "data:text/html,hi"), "&lt;b&gt;");
    }

    #[test]
    fn language_choice() {
        assert_eq!(Lang::choose(Some("ja"), Some("en")), Lang::Ja);
        assert_eq!(
            Lang::choose(None, Some("ja-JP,ja;q=0.9,en;q=0.8")),
            Lang::Ja
        );
        assert_eq!(Lang::choose(None, Some("fr, en;q=0.5, ja;q=0.4")), Lang::En);
        assert_eq!(Lang::choose(None, Some("de")), Lang::En);
        assert_eq!(Lang::choose(Some("xx"), None), Lang::En);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(0.1145), "0.1145");
        assert_eq!(num(0.5), "0.5");
    }
}
