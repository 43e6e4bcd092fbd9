//! A prospect in the CRM's terms ([`InboundLead`]): what has a field of its own goes there,
//! everything else into the opportunity's note, so nothing the partner sent is lost.

use crate::{
    connectors::entities::connector,
    lead::{Interest, LeadVehicle, Prospect, ProspectStatus, VehicleCondition},
};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use forecourt_core::ports::leads::{InboundContact, InboundLead, InboundVehicle};

/// A field of the CRM's lead, as a path in the document (`contact.emails` of prospect 2 is
/// `prospects[2].customer.emails`).
pub fn prospect_field(index: usize, field: Option<&str>) -> String {
    let base = format!("prospects[{index}]");
    match field.map(str::trim).filter(|f| !f.is_empty()) {
        None => base,
        Some(f) => {
            let f = match f.strip_prefix("contact") {
                Some(rest) if rest.is_empty() || rest.starts_with(['.', '[']) => {
                    format!("customer{rest}")
                }
                _ => f.to_string(),
            };
            format!("{base}.{f}")
        }
    }
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn join(parts: &[Option<String>], sep: &str) -> Option<String> {
    let parts: Vec<&str> = parts.iter().flatten().map(String::as_str).collect();
    (!parts.is_empty()).then(|| parts.join(sep))
}

fn date(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn amount(a: f64, currency: Option<&str>) -> String {
    let c = currency.unwrap_or("EUR").to_uppercase();
    format!("{a} {c}")
}

fn interest(i: Interest) -> &'static str {
    match i {
        Interest::Buy => "buy",
        Interest::Lease => "lease",
        Interest::TestDrive => "test_drive",
        Interest::TradeIn => "trade_in",
        Interest::Sell => "sell",
    }
}

fn vehicle(v: &LeadVehicle) -> InboundVehicle {
    let euros = v
        .currency
        .as_deref()
        .map(str::trim)
        .is_none_or(|c| c.is_empty() || c.eq_ignore_ascii_case("EUR"));
    let (main, other) = if v.interest.is_trade_in() {
        match (v.appraisal, v.price) {
            (Some(a), p) => (Some(a), p.map(|p| ("Asking price", p))),
            (None, p) => (p, None),
        }
    } else {
        (v.price, v.appraisal.map(|a| ("Appraisal", a)))
    };
    // What the CRM's vehicle has no field for travels in its comments.
    let mut notes: Vec<String> = Vec::new();
    if let Some(s) = text(&v.stock) {
        notes.push(format!("Stock number: {s}"));
    }
    if let Some(c) = text(&v.condition) {
        notes.push(format!("Condition: {c}"));
    }
    if !euros && let Some(a) = main {
        notes.push(format!(
            "{}: {}",
            if v.interest.is_trade_in() {
                "Appraisal"
            } else {
                "Price"
            },
            amount(a, v.currency.as_deref())
        ));
    }
    if let Some((label, a)) = other {
        notes.push(format!("{label}: {}", amount(a, v.currency.as_deref())));
    }
    if let Some(c) = text(&v.comments) {
        notes.push(c);
    }
    InboundVehicle {
        interest: interest(v.interest).into(),
        make: text(&v.make),
        model: text(&v.model),
        trim: text(&v.trim),
        year: v.year,
        vin: text(&v.vin),
        condition: v.status.map(|s| {
            match s {
                VehicleCondition::New => "new",
                VehicleCondition::Used => "used",
            }
            .to_string()
        }),
        mileage_km: v.mileage_km,
        amount: if euros { main } else { None },
        comments: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// A prospect in the CRM's terms. Whatever has no field of its own goes into `note`, so
/// nothing the partner sent is lost silently.
pub fn to_inbound(p: &Prospect, c: &connector::Model, received_at: DateTime<Utc>) -> InboundLead {
    let cu = &p.customer;
    let mut note: Vec<String> = Vec::new();
    if let Some(words) = text(&cu.comments) {
        note.push(words);
    }
    if let Some(d) = p.request_date {
        note.push(format!("Request date: {}", date(d)));
    }
    if p.status == ProspectStatus::Resend {
        note.push("Sent again by the partner (status resend).".into());
    }
    let provider_name = p.provider.as_ref().and_then(|pr| text(&pr.name));
    if let Some(pr) = &p.provider {
        let details = join(
            &[
                text(&pr.service).map(|s| format!("service {s}")),
                text(&pr.url),
                text(&pr.email),
                text(&pr.phone),
            ],
            ", ",
        );
        let line = match (&provider_name, details) {
            (Some(n), Some(d)) => Some(format!("Provider: {n} ({d})")),
            (Some(n), None) => Some(format!("Provider: {n}")),
            (None, Some(d)) => Some(format!("Provider: {d}")),
            (None, None) => None,
        };
        note.extend(line);
    }
    let ids: Vec<String> = p
        .ids
        .iter()
        .filter(|i| !i.value.trim().is_empty())
        .map(|i| match text(&i.source) {
            Some(s) => format!("{}@{s}", i.value.trim()),
            None => i.value.trim().to_string(),
        })
        .collect();
    if !ids.is_empty() {
        note.push(format!("Partner lead id: {}", ids.join(", ")));
    }
    if let Some(v) = &p.vendor {
        let line = match (text(&v.name), text(&v.id)) {
            (Some(n), Some(i)) => Some(format!("Addressed to: {n} (partner's dealer id {i})")),
            (Some(n), None) => Some(format!("Addressed to: {n}")),
            (None, Some(i)) => Some(format!("Addressed to the partner's dealer id {i}")),
            (None, None) => None,
        };
        note.extend(line);
    }

    // Names: a middle name joins the first; a whole name stands as the last name when the
    // partner did not split it, and is noted otherwise.
    let first = join(&[text(&cu.first_name), text(&cu.middle_name)], " ");
    let mut last = text(&cu.last_name);
    if let Some(full) = text(&cu.full_name) {
        if first.is_none() && last.is_none() {
            last = Some(full);
        } else {
            note.push(format!("Name as sent: {full}"));
        }
    }
    let phones: Vec<String> = cu
        .phones
        .iter()
        .filter(|ph| !ph.number.trim().is_empty())
        .map(|ph| ph.number.trim().to_string())
        .collect();
    for ph in &cu.phones {
        if let Some(kind) = text(&ph.kind)
            && !["voice", "cellphone", "phone", "mobile"].contains(&kind.to_lowercase().as_str())
        {
            note.push(format!("Phone {} is a {kind}", ph.number.trim()));
        }
    }
    let address = cu.address.as_ref().and_then(|a| {
        let street = join(
            &[
                join(
                    &a.street
                        .iter()
                        .map(|s| text(&Some(s.clone())))
                        .collect::<Vec<_>>(),
                    ", ",
                ),
                text(&a.apartment).map(|ap| format!("box {ap}")),
            ],
            ", ",
        );
        if let Some(r) = text(&a.region) {
            note.push(format!("Region: {r}"));
        }
        let parts = [
            street,
            text(&a.postal_code),
            text(&a.city),
            text(&a.country).map(|c| c.to_uppercase()),
        ];
        parts.iter().any(Option::is_some).then_some(parts)
    });

    let follow_up = p.timeframe.as_ref().map(|tf| {
        let dates = match (tf.earliest, tf.latest) {
            (Some(e), Some(l)) => Some(format!("between {} and {}", date(e), date(l))),
            (Some(e), None) => Some(format!("from {}", date(e))),
            (None, Some(l)) => Some(format!("by {}", date(l))),
            (None, None) => None,
        };
        let said =
            join(&[text(&tf.description), dates], ", ").unwrap_or_else(|| "not specified".into());
        note.push(format!("Timeframe: {said}"));
        let deadline = tf
            .latest
            .or(tf.earliest)
            .unwrap_or(received_at + Duration::days(7));
        (deadline, format!("Customer timeframe: {said}"))
    });

    for e in &p.extensions {
        note.push(format!("{}: {}", e.path, e.value.trim()));
    }

    let (trade_ins, vehicles): (Vec<&LeadVehicle>, Vec<&LeadVehicle>) =
        p.vehicles.iter().partition(|v| v.interest.is_trade_in());
    InboundLead {
        received_at,
        origin: provider_name.unwrap_or_else(|| c.partner.clone()),
        source_id: c.source_id,
        establishment_id: c.establishment_id,
        contact: InboundContact {
            first_name: first,
            last_name: last,
            company_name: text(&cu.company_name),
            emails: cu
                .emails
                .iter()
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect(),
            phones,
            address,
            language: text(&cu.language),
        },
        note: (!note.is_empty()).then(|| note.join("\n")),
        vehicles: vehicles.into_iter().map(vehicle).collect(),
        trade_ins: trade_ins.into_iter().map(vehicle).collect(),
        follow_up,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::*;
    use uuid::Uuid;

    fn connector() -> connector::Model {
        let now = Utc::now();
        connector::Model {
            tenant_id: Uuid::now_v7(),
            id: Uuid::now_v7(),
            partner: "AutoScout24".into(),
            name: "AS24".into(),
            establishment_id: None,
            source_id: Some(Uuid::now_v7()),
            enabled: true,
            secret: String::new(),
            previous_secret: None,
            previous_secret_until: None,
            created_by: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn nothing_is_lost_in_the_mapping() {
        let c = connector();
        let at = Utc::now();
        let p = Prospect {
            ids: vec![LeadId {
                value: "42".into(),
                source: Some("mobile.de".into()),
            }],
            provider: Some(Provider {
                name: Some("mobile.de".into()),
                service: Some("Leads".into()),
                ..Default::default()
            }),
            vendor: Some(Vendor {
                id: Some("D1".into()),
                name: Some("Garage".into()),
            }),
            customer: LeadCustomer {
                full_name: Some("Jan Peeters".into()),
                emails: vec![" jan@example.be ".into()],
                phones: vec![LeadPhone {
                    number: "0470 12 34 56".into(),
                    kind: Some("fax".into()),
                }],
                comments: Some("Call me".into()),
                ..Default::default()
            },
            timeframe: Some(Timeframe {
                description: Some("within 3 months".into()),
                ..Default::default()
            }),
            extensions: vec![Extension {
                path: "provider/campaign".into(),
                value: "summer".into(),
            }],
            vehicles: vec![
                LeadVehicle {
                    interest: Interest::TestDrive,
                    make: Some("Opel".into()),
                    price: Some(21990.0),
                    ..Default::default()
                },
                LeadVehicle {
                    interest: Interest::TradeIn,
                    make: Some("VW".into()),
                    price: Some(5000.0),
                    appraisal: Some(4500.0),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let lead = to_inbound(&p, &c, at);
        assert_eq!(lead.origin, "mobile.de");
        assert_eq!(lead.source_id, c.source_id);
        assert_eq!(lead.contact.last_name.as_deref(), Some("Jan Peeters"));
        assert_eq!(lead.contact.emails, vec!["jan@example.be"]);
        assert_eq!(lead.contact.phones, vec!["0470 12 34 56"]);
        assert_eq!(lead.vehicles.len(), 1);
        assert_eq!(lead.vehicles[0].interest, "test_drive");
        assert_eq!(lead.vehicles[0].amount, Some(21990.0));
        assert_eq!(lead.trade_ins[0].amount, Some(4500.0));
        assert!(
            lead.trade_ins[0]
                .comments
                .as_deref()
                .unwrap()
                .contains("Asking price: 5000 EUR")
        );
        let (deadline, reason) = lead.follow_up.clone().unwrap();
        assert_eq!(deadline, at + Duration::days(7));
        assert_eq!(reason, "Customer timeframe: within 3 months");
        let note = lead.note.unwrap();
        for want in [
            "Call me",
            "Provider: mobile.de (service Leads)",
            "Partner lead id: 42@mobile.de",
            "Addressed to: Garage (partner's dealer id D1)",
            "Phone 0470 12 34 56 is a fax",
            "provider/campaign: summer",
        ] {
            assert!(note.contains(want), "{want:?} missing from {note}");
        }
    }

    #[test]
    fn crm_fields_become_document_paths() {
        assert_eq!(
            prospect_field(1, Some("contact.emails")),
            "prospects[1].customer.emails"
        );
        assert_eq!(prospect_field(0, Some("customer")), "prospects[0].customer");
        assert_eq!(prospect_field(0, None), "prospects[0]");
    }
}
