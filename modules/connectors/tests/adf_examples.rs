//! The ADF parser against the public examples copied from `shared/adf/` unchanged (in
//! `tests/fixtures/`) and hand-written leads.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failure should abort loudly

mod common;

use common::*;
use forecourt_connectors::adf;
use forecourt_connectors::lead::{
    Interest, LeadAddress, ProspectStatus, Provider, Timeframe, VehicleCondition, Vendor,
};

// ---------------------------------------------------------------------------------------------
// Public examples (shared/adf, copied unchanged)

#[test]
fn activix_example_with_its_extensions() {
    let p = prospect("activix-adf-example.xml");
    assert_eq!(p.status, ProspectStatus::New);
    assert_eq!(p.ids, vec![id("12345", "Activix")]);
    assert_eq!(p.request_date, Some(utc("2020-04-28T20:30:20Z")));

    let c = &p.customer;
    assert_eq!(c.first_name.as_deref(), Some("Test"));
    assert_eq!(c.last_name.as_deref(), Some("Activix 2"));
    assert_eq!(c.full_name, None);
    assert_eq!(c.emails, vec!["test@activix.ca"]);
    assert_eq!(
        c.phones,
        vec![
            phone("+14382881008", Some("phone")),
            phone("+14382881008", Some("phone")),
            phone("+14382881008", Some("cellphone")),
        ]
    );
    assert_eq!(c.language.as_deref(), Some("fr"));
    assert_eq!(
        c.comments.as_deref(),
        Some("Can you deliver the car to my house?")
    );
    // Empty street lines and city are dropped, not kept as empty strings.
    assert_eq!(
        c.address,
        Some(LeadAddress {
            street: vec![],
            apartment: None,
            city: None,
            region: some("QC"),
            postal_code: some("J1B2N3"),
            country: some("CA"),
        })
    );

    assert_eq!(p.vehicles.len(), 1);
    let v = &p.vehicles[0];
    assert_eq!(v.interest, Interest::Buy);
    assert_eq!(v.status, Some(VehicleCondition::New));
    assert_eq!(v.year, Some(2020));
    assert_eq!(v.make.as_deref(), Some("Volvo"));
    assert_eq!(v.model.as_deref(), Some("XC90"));
    assert_eq!(v.trim.as_deref(), Some("R-Design"));
    assert_eq!(v.vin.as_deref(), Some("2GTEK19R7V1511644"));
    assert_eq!(v.stock.as_deref(), Some("V12345"));
    assert_eq!(v.mileage_km, Some(1500));
    assert_eq!(v.condition.as_deref(), Some("excellent"));
    assert_eq!(v.price, Some(59999.99));
    assert_eq!(v.appraisal, None);
    assert_eq!(v.currency.as_deref(), Some("CAD"));
    assert_eq!(v.comments.as_deref(), Some("Demo car"));

    assert_eq!(
        p.timeframe,
        Some(Timeframe {
            description: some("Changing car soon."),
            earliest: Some(utc("2020-05-01T19:30:00Z")),
            latest: None,
        })
    );
    assert_eq!(
        p.vendor,
        Some(Vendor {
            id: None,
            name: some("ABC Motors"),
        })
    );
    assert_eq!(
        p.provider,
        Some(Provider {
            name: some("Activix"),
            service: some("ABC Motors' Website"),
            url: some("https://abcmotors.com/volvo/xc90"),
            email: some("support@activix.ca"),
            phone: some("+18664306767"),
        })
    );

    // Everything the model has no field for is kept, with an ADF path.
    for (path, value) in [
        ("@type", "quote"),
        ("vehicle[0]/doors", "5"),
        ("vehicle[0]/bodystyle", "SUV"),
        ("vehicle[0]/transmission", "A"),
        ("vehicle[0]/odometer/@status", "original"),
        ("vehicle[0]/colorcombination[1]/exteriorcolor", "Gray"),
        ("vehicle[0]/option/optionname", "Sport seats"),
        ("vehicle[0]/option/price", "1460.99"),
        ("vehicle[0]/pricecomments", "Anniversary Edition"),
        ("vehicle[0]/finance/method", "finance"),
        ("vehicle[0]/finance/amount[0]/@type", "downpayment"),
        ("vehicle[0]/finance/amount[0]", "10000"),
        ("vehicle[0]/finance/amount[1]", "425.25"),
        ("vehicle[0]/finance/term", "24"),
        ("vehicle[0]/finance/mileageallowance/@units", "km"),
        ("customer/contact/id", "12345"),
        ("customer/contact/gender", "2"),
        ("customer/contact/birthday", "2015-04-24"),
        ("customer/contact/phone[1]/@time", "evening"),
        ("vendor/contact/name", "Jane Doe"),
        ("vendor/contact/email", "jane@abcmotors.com"),
        ("provider/form", "Financing request"),
        ("provider/referrer", "Google"),
        ("provider/campaign", "Red Tag Sale"),
        ("provider/searchterm", "Volvo XC"),
        ("provider/keyword", "Volvo Laval"),
    ] {
        assert_eq!(extension(&p, path), Some(value), "extension {path}");
    }
    let history = extension(&p, "provider/navigationhistory").unwrap();
    assert!(history.starts_with("04/28/2020 - 22:10:25 - https://abcmotors.com\n"));
    assert!(history.ends_with("/new/xc90 MENU_clicked_URL"));
}

#[test]
fn spec_minimal_lead_is_repaired() {
    // `<?ADF VERSION "1.0"?>` first, then `<?XML VERSION “1.0”?>`: the latter is dropped.
    let p = prospect("adf-spec-1.0-minimal-lead.xml");
    assert_eq!(p.request_date, Some(utc("2000-03-30T23:30:20Z")));
    assert_eq!(p.customer.full_name.as_deref(), Some("John Doe"));
    assert_eq!(p.customer.phones, vec![phone("393-999-3922", None)]);
    let v = &p.vehicles[0];
    assert_eq!(
        (v.year, v.make.as_deref(), v.model.as_deref()),
        (Some(1999), Some("Chevrolet"), Some("Blazer"))
    );
    assert_eq!(v.interest, Interest::Buy);
    assert_eq!(v.status, None);
    // No <vendorname>: the vendor contact's name names the dealer.
    assert_eq!(
        p.vendor,
        Some(Vendor {
            id: None,
            name: some("Acura of Bellevue"),
        })
    );
    assert!(p.extensions.is_empty(), "{:?}", p.extensions);
}

#[test]
fn spec_resend_lead_with_unquoted_and_typographic_attributes() {
    // `<id sequence=1 source=”Cobalt”>`: repaired, not refused.
    let p = prospect("adf-spec-1.0-resend-lead.xml");
    assert_eq!(p.status, ProspectStatus::Resend);
    assert_eq!(p.ids, vec![id("38889", "Cobalt")]);
    assert_eq!(p.request_date, Some(utc("2000-03-30T23:30:20Z")));
    // Not a usable lead, but that is for processing to decide.
    assert!(p.vehicles.is_empty());
    assert_eq!(p.vendor, None);
}

#[test]
fn sendadf_minimal_lead() {
    let p = prospect("sendadf-minimal-lead.xml");
    assert_eq!(p.request_date, Some(utc("2020-02-09T23:26:00Z")));
    assert_eq!(p.customer.full_name.as_deref(), Some("John Doe"));
    assert_eq!(
        p.customer.phones,
        vec![phone("393-999-3922", Some("voice"))]
    );
    assert_eq!(p.vehicles[0].status, Some(VehicleCondition::Used));
    assert_eq!(
        p.vendor.as_ref().and_then(|v| v.name.as_deref()),
        Some("Acura of Bellevue")
    );
    assert_eq!(
        extension(&p, "customer/contact/phone/@time"),
        Some("nopreference")
    );
}

#[test]
fn spec_vehicle_and_customer_examples_are_repaired() {
    // The spec's own vehicle example: `units=”miles”`, `<optionname>Sport</name>`,
    // `type="monthly” currency=”USD"`, `type="total currency=”USD"`.
    let p = prospect("spec-examples-repair.xml");
    let v = &p.vehicles[0];
    assert_eq!(v.status, Some(VehicleCondition::Used));
    assert_eq!(v.stock.as_deref(), Some("P7286"));
    assert_eq!(v.mileage_km, Some(144_841)); // 90000 mi = 144 840.96 km
    assert_eq!(v.price, Some(26995.0));
    assert_eq!(v.currency.as_deref(), Some("USD"));
    assert_eq!(v.comments.as_deref(), Some("keyless entry essential"));
    assert_eq!(
        extension(&p, "vehicle[0]/odometer/@status"),
        Some("replaced")
    );
    // The mismatched end tags close <optionname>: both options keep their structure.
    assert_eq!(
        extension(&p, "vehicle[0]/option[0]/optionname"),
        Some("Sport")
    );
    assert_eq!(
        extension(&p, "vehicle[0]/option[1]/optionname"),
        Some("Keyless Entry")
    );
    assert_eq!(extension(&p, "vehicle[0]/option[1]/weighting"), Some("100"));
    assert_eq!(
        extension(&p, "vehicle[0]/finance/amount[1]/@type"),
        Some("monthly")
    );
    assert_eq!(
        extension(&p, "vehicle[0]/finance/amount[1]/@currency"),
        Some("USD")
    );
    assert_eq!(extension(&p, "vehicle[0]/finance/amount[2]"), Some("50000"));
    assert_eq!(
        extension(&p, "vehicle[0]/finance/balance/@type"),
        Some("residual")
    );

    let c = &p.customer;
    assert_eq!(c.first_name.as_deref(), Some("John"));
    assert_eq!(c.last_name.as_deref(), Some("Doe"));
    assert_eq!(c.emails, vec!["jdoe@hotmail.com"]);
    assert_eq!(
        c.phones,
        vec![
            phone("393-999-3922", Some("voice")),
            phone("393-991-2999", Some("voice")),
            phone("393-991-2999", Some("fax")),
        ]
    );
    let address = c.address.as_ref().unwrap();
    assert_eq!(address.street, vec!["10 first avenue"]);
    assert_eq!(address.apartment.as_deref(), Some("G-17"));
    assert_eq!(address.region.as_deref(), Some("WA"));
    assert_eq!(address.postal_code.as_deref(), Some("98002-3903"));
    assert_eq!(
        extension(&p, "customer/contact/address/@type"),
        Some("home")
    );
    assert_eq!(
        extension(&p, "customer/contact/phone[1]/@besttime"),
        Some("1")
    );
    assert_eq!(
        c.comments.as_deref(),
        Some("Can you deliver my new car by next Thursday?")
    );
    assert_eq!(
        p.timeframe.and_then(|t| t.description).as_deref(),
        Some("Within 1 month")
    );
}

// ---------------------------------------------------------------------------------------------
// Hand-written leads

#[test]
fn trade_in_lead() {
    let p = prospect("trade-in.xml");
    // Ordered by sequence: the originating system's id first, whatever the document order.
    assert_eq!(
        p.ids,
        vec![
            id("AS24-99817", "AutoScout24"),
            id("FLR-2024-000812", "Forecourt Lead Router"),
        ]
    );
    assert_eq!(p.request_date, Some(utc("2024-05-14T07:12:45Z")));
    assert_eq!(p.vehicles.len(), 2);

    let wanted = &p.vehicles[0];
    assert_eq!(wanted.interest, Interest::Buy);
    assert!(!wanted.interest.is_trade_in());
    assert_eq!(wanted.status, Some(VehicleCondition::Used));
    assert_eq!(wanted.year, Some(2021));
    assert_eq!(wanted.make.as_deref(), Some("Volkswagen"));
    assert_eq!(wanted.model.as_deref(), Some("Golf"));
    assert_eq!(wanted.trim.as_deref(), Some("Life 1.5 eTSI"));
    assert_eq!(wanted.vin.as_deref(), Some("WVWZZZCDZMW000001"));
    assert_eq!(wanted.stock.as_deref(), Some("VO-4471"));
    assert_eq!(wanted.mileage_km, Some(23_500)); // "23 500" km
    assert_eq!(wanted.price, Some(24_950.0)); // "24.950,00"
    assert_eq!(wanted.appraisal, None);
    assert_eq!(wanted.currency.as_deref(), Some("EUR"));

    let trade_in = &p.vehicles[1];
    assert_eq!(trade_in.interest, Interest::TradeIn);
    assert!(trade_in.interest.is_trade_in());
    assert_eq!(trade_in.year, Some(2015));
    assert_eq!(trade_in.make.as_deref(), Some("Ford"));
    assert_eq!(trade_in.model.as_deref(), Some("Focus"));
    // 62,137 miles × 1.609344 = 99,999.8 km, rounded.
    assert_eq!(trade_in.mileage_km, Some(100_000));
    assert_eq!(trade_in.condition.as_deref(), Some("good"));
    assert_eq!(trade_in.appraisal, Some(6500.0));
    assert_eq!(trade_in.price, None);
    assert_eq!(trade_in.currency.as_deref(), Some("EUR"));
    assert_eq!(
        trade_in.comments.as_deref(),
        Some("Small dent on the rear bumper.")
    );
    assert_eq!(extension(&p, "vehicle[1]/finance/balance"), Some("1200"));
    assert_eq!(
        extension(&p, "vehicle[1]/finance/balance/@type"),
        Some("finance")
    );
    assert_eq!(
        extension(&p, "vehicle[1]/odometer/@status"),
        Some("original")
    );

    assert_eq!(p.customer.first_name.as_deref(), Some("Marie"));
    assert_eq!(p.customer.last_name.as_deref(), Some("Peeters"));
    assert_eq!(p.customer.emails, vec!["marie.peeters@example.be"]);
    assert_eq!(
        p.customer.phones,
        vec![phone("0470 12 34 56", Some("cellphone"))]
    );
    assert_eq!(
        p.vendor,
        Some(Vendor {
            id: some("BE-DLR-0042"),
            name: some("Garage Example Leuven"),
        })
    );
    assert_eq!(extension(&p, "vendor/id/@source"), Some("AutoScout24"));
    assert_eq!(
        p.provider,
        Some(Provider {
            name: some("AutoScout24"),
            service: some("Trade-in valuation"),
            url: some("https://www.autoscout24.be"),
            email: None,
            phone: None,
        })
    );
}

#[test]
fn multi_prospect_document() {
    let document = parse_fixture("multi-prospect.xml");
    let summary: Vec<_> = document
        .prospects
        .iter()
        .map(|p| {
            (
                p.ids[0].value.as_str(),
                p.status,
                p.customer.first_name.as_deref().unwrap(),
                p.customer.emails[0].as_str(),
                p.vehicles[0].model.as_deref().unwrap(),
                p.request_date.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "MDE-0001",
                ProspectStatus::New,
                "Anna",
                "anna.maes@example.be",
                "Yaris",
                utc("2024-03-01T10:00:00Z")
            ),
            (
                "MDE-0002",
                ProspectStatus::Resend,
                "Bart",
                "bart.claes@example.be",
                "Clio",
                utc("2024-03-02T10:00:00Z")
            ),
            (
                "MDE-0003",
                ProspectStatus::New,
                "Chloé",
                "chloe.dubois@example.be",
                "208",
                utc("2024-03-03T10:00:00Z")
            ),
        ]
    );
}

#[test]
fn iso_8859_1_document() {
    let body = fixture("latin1.xml");
    assert!(
        std::str::from_utf8(&body).is_err(),
        "the fixture is Latin-1"
    );
    let p = adf::parse(&body, None).unwrap().prospects.remove(0);
    assert_eq!(p.customer.first_name.as_deref(), Some("François"));
    assert_eq!(p.customer.last_name.as_deref(), Some("Dubois-Lévêque"));
    let address = p.customer.address.as_ref().unwrap();
    assert_eq!(address.street, vec!["Rue de l'Université 12"]);
    assert_eq!(address.city.as_deref(), Some("Liège"));
    assert_eq!(address.country.as_deref(), Some("BE"));
    assert_eq!(
        p.customer.comments.as_deref(),
        Some("Intéressé par la version «Shine», livraison à domicile ?")
    );
    assert_eq!(p.vehicles[0].make.as_deref(), Some("Citroën"));
    assert_eq!(p.vehicles[0].model.as_deref(), Some("ë-C4"));
    assert_eq!(p.vehicles[0].interest, Interest::Lease);
    assert_eq!(
        p.vendor.unwrap().name.as_deref(),
        Some("Garage Exemple Liège")
    );
    // The XML declaration wins over a wrong HTTP charset.
    assert_eq!(
        adf::parse(&body, Some("utf-8")).unwrap().prospects[0]
            .customer
            .first_name
            .as_deref(),
        Some("François")
    );
}

#[test]
fn windows_1252_document() {
    let body = fixture("windows-1252.xml");
    assert!(
        body.contains(&0x80) && body.contains(&0x92),
        "€ and ’ in cp1252"
    );
    let p = adf::parse(&body, None).unwrap().prospects.remove(0);
    assert_eq!(p.customer.last_name.as_deref(), Some("D’Hondt"));
    assert_eq!(
        p.customer.comments.as_deref(),
        Some("Budget max. 15.000 €, I’d like a towbar.")
    );
    assert_eq!(p.customer.phones, vec![phone("+32 9 234 56 78", None)]);
    assert_eq!(p.vehicles[0].make.as_deref(), Some("Škoda"));
    assert_eq!(p.vehicles[0].price, Some(14_750.0)); // "€ 14.750,-"
    assert_eq!(p.vehicles[0].currency.as_deref(), Some("EUR"));
}

#[test]
fn utf8_bom_document() {
    let body = fixture("utf8-bom.xml");
    assert!(body.starts_with(b"\xEF\xBB\xBF"));
    let p = adf::parse(&body, None).unwrap().prospects.remove(0);
    assert_eq!(p.customer.full_name.as_deref(), Some("Zoë Van den Bossche"));
    assert_eq!(p.customer.emails, vec!["zoe.vdb@example.be"]);
    assert_eq!(p.vehicles[0].model.as_deref(), Some("Niro EV"));
    // The BOM wins over any charset.
    let p = adf::parse(&body, Some("ISO-8859-1"))
        .unwrap()
        .prospects
        .remove(0);
    assert_eq!(p.customer.full_name.as_deref(), Some("Zoë Van den Bossche"));
}

#[test]
fn business_name_lead() {
    let p = prospect("business-name.xml");
    let c = &p.customer;
    assert_eq!(c.company_name.as_deref(), Some("Transport Janssens BV"));
    assert_eq!(c.full_name, None);
    assert_eq!(c.first_name.as_deref(), Some("Jan"));
    assert_eq!(c.last_name.as_deref(), Some("Janssens"));
    assert_eq!(
        c.address,
        Some(LeadAddress {
            // Ordered by @line, not by document order.
            street: vec!["Industrieweg 14".to_owned(), "Zone 3".to_owned()],
            apartment: None,
            city: some("Mechelen"),
            region: some("VAN"),
            postal_code: some("2800"),
            country: some("BE"),
        })
    );
    assert_eq!(extension(&p, "customer/contact/@primarycontact"), Some("1"));
    assert_eq!(
        extension(&p, "customer/contact/address/@type"),
        Some("work")
    );
    assert_eq!(p.vehicles[0].interest, Interest::Lease);
}

#[test]
fn belgian_phone_formats_as_written_preferred_first() {
    let p = prospect("belgian-phones.xml");
    assert_eq!(
        p.customer.phones,
        vec![
            phone("0032 9 234 56 78", Some("voice")),
            phone("0470 12 34 56", Some("cellphone")),
            phone("+32 2 123 45 67", Some("voice")),
        ]
    );
    assert_eq!(
        p.customer.emails,
        vec!["p.wouters@work.example.be", "pieter.wouters@example.be"]
    );
    // Extension paths are ADF paths: document order.
    assert_eq!(
        extension(&p, "customer/contact/phone[1]/@time"),
        Some("evening")
    );
}

#[test]
fn version_attribute_instead_of_processing_instruction() {
    let p = prospect("version-attribute.xml");
    assert_eq!(p.request_date, Some(utc("2024-07-01T13:30:00Z")));
    assert_eq!(p.customer.full_name.as_deref(), Some("Sam Lee"));
    assert_eq!(p.vehicles[0].make.as_deref(), Some("Hyundai"));
    assert!(p.extensions.is_empty());
}

#[test]
fn upper_case_names_and_enumerations_comment_and_cdata() {
    let p = prospect("uppercase-enums-cdata.xml");
    assert_eq!(p.status, ProspectStatus::Resend);
    assert_eq!(p.ids, vec![id("ds-7781", "DealerSite")]);
    let v = &p.vehicles[0];
    assert_eq!(v.interest, Interest::TradeIn);
    assert_eq!(v.status, Some(VehicleCondition::Used));
    assert_eq!(v.year, Some(2012));
    assert_eq!(v.mileage_km, Some(187_000));
    assert_eq!(v.condition.as_deref(), Some("fair"));
    assert_eq!(
        v.comments.as_deref(),
        Some("Rust on the <left door> & a cracked windscreen")
    );
    assert_eq!(p.customer.first_name.as_deref(), Some("Elke"));
    assert_eq!(p.customer.last_name.as_deref(), Some("Jacobs"));
    assert_eq!(
        p.customer.phones,
        vec![phone("0486 98 76 54", Some("cellphone"))]
    );
    assert_eq!(
        p.customer.comments.as_deref(),
        Some("Call me after 6 pm & never on Sundays <please>")
    );
    assert_eq!(
        p.vendor.unwrap().name.as_deref(),
        Some("Garage Example Hasselt")
    );
    assert!(p.extensions.is_empty(), "{:?}", p.extensions);
}

#[test]
fn test_drive_with_timeframe() {
    let p = prospect("test-drive-timeframe.xml");
    // Basic ISO 8601 format.
    assert_eq!(p.request_date, Some(utc("2024-05-28T12:30:00Z")));
    assert_eq!(p.vehicles[0].interest, Interest::TestDrive);
    assert_eq!(
        p.timeframe,
        Some(Timeframe {
            description: some("Within two weeks"),
            earliest: Some(utc("2024-06-01T07:00:00Z")),
            // A date alone: midnight UTC.
            latest: Some(utc("2024-06-15T00:00:00Z")),
        })
    );
    assert_eq!(p.customer.language.as_deref(), Some("nl-BE"));
    assert_eq!(p.customer.phones, vec![phone("0499 11 22 33", None)]);
    assert_eq!(
        extension(&p, "vehicle[0]/colorcombination/exteriorcolor"),
        Some("Moss Yellow")
    );
    assert_eq!(extension(&p, "provider/campaign"), Some("Spring EV days"));
    assert_eq!(
        p.provider.unwrap().service.as_deref(),
        Some("Test drive booking")
    );
}
