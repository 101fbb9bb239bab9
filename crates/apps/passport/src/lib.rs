//! The battery passport app (Regulation (EU) 2023/1542, Art. 77 and Annex XIII).
//!
//! Why this crate exists: from February 2027 every EV, LMT and industrial battery over
//! 2 kWh sold in the EU needs a passport reached through a QR code, part of it public, part
//! for persons with a legitimate interest, part for notified bodies, market surveillance
//! authorities and the Commission. This crate keeps an economic operator's passports in its
//! `DocumentStore` as Catena-X BatteryPass 6.1.0 documents (`model`), issues each as one
//! SD-JWT signed with the operator's key in which every non-public field is selectively
//! disclosable (`signed`, driven by the attribute table in `attributes`), gives each caller
//! the view of its access group by choosing disclosures, follows the battery through its
//! lifecycle with history (`lifecycle`, `service`), makes identifiers and QR codes
//! (`identifier`), and serves a public web page and JSON (`http`).
//!
//! What it must never do: hand any caller a field above the caller's access group (views are
//! made by leaving disclosures out, and checked against the table once more before they
//! leave); decide a caller's group from anything but a presentation verified by
//! `tsunagu-trust` or an explicit grant; write SQL (only `tsunagu-store` does); let an invalid
//! document or an illegal lifecycle transition change anything; put keys, session tokens or
//! presentations into logs or responses to anyone but their owner.

mod access;
mod attributes;
mod bench;
mod demo;
mod html;
mod http;
mod identifier;
mod lifecycle;
mod model;
mod service;
mod signed;
mod supply;

pub use access::{
    AUTHORITY_ROLES, AccessControl, AccessError, Caller, CallerTrust, LEGITIMATE_INTEREST_ROLES,
    NONCE_LIFETIME, SESSION_LIFETIME, Session, group_for_attributes,
};
pub use bench::{PageBench, bench_page};
pub use html::Lang;
pub use http::{HttpError, PassportApp, SESSION_COOKIE, passport_router};
pub use lifecycle::{LifecycleError, LifecycleEvent, Outcome, transition};
pub use service::{
    Clock, DynamicReading, NO_PREDECESSOR, NegativeEvent, PassportService, ServiceError,
    StoredPassport, SystemClock,
};

pub use attributes::{AccessGroup, Attribute, AttributeTable, Level, Nature, TableError};
pub use demo::{
    DEMO_BATTERY_ID, DEMO_OPERATOR_BPNL, DEMO_PLANT_BPNA, carbon_footprint_entries,
    demo_battery_pass_json, demo_carbon_footprint, demo_supplier_contribution,
    install_demo_battery, lifecycle_label, record_demo_readings,
};
pub use identifier::{
    BatteryIdentifier, IdentifierError, MAX_IDENTIFIER_LEN, PassportId, qr_png, qr_svg,
};
pub use model::{ASPECT_URN, BatteryPass, BatteryState, ModelError, PassportStatus, SPEC_VERSION};
pub use signed::{PassportView, SignError, SignedPassport, Signer, open_view, sign_passport};
pub use supply::{
    Document, MaterialComposition, MaterialId, PROVENANCE_CATEGORY, PROVENANCE_TYPE, Provenance,
    RecycledContent, SUPPLY_FORMAT_VERSION, SuppliedProduct, SupplierContribution,
    SupplierIdentity, contribute,
};
