//! The ADF parser on values: invalid ones name their field, lenient ones are read, empty
//! ones are none; tolerance of the structure; error messages.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failure should abort loudly

mod common;

use common::*;
use forecourt_connectors::adf::{self, AdfError};
use forecourt_connectors::lead::Interest;

// ---------------------------------------------------------------------------------------------
// Values

fn vehicle_lead(vehicle: &str) -> String {
    format!(
        "<adf><prospect><requestdate>2024-01-01</requestdate>{vehicle}<vehicle/></prospect></adf>"
    )
}

fn invalid(body: &str) -> (Option<String>, String) {
    let e = error(body.as_bytes());
    assert_eq!(e.kind, AdfError::INVALID_VALUE, "{e}");
    (e.field, e.detail)
}

#[test]
fn invalid_values_name_their_field() {
    let cases = [
        (
            vehicle_lead("<vehicle><year>20x0</year></vehicle>"),
            "prospects[0].vehicles[0].year",
        ),
        (
            format!(
                "<adf><prospect/>{}</adf>",
                "<prospect><vehicle/><vehicle><year>99999</year></vehicle></prospect>"
            ),
            "prospects[1].vehicles[1].year",
        ),
        (
            vehicle_lead("<vehicle interest=\"rent\"/>"),
            "prospects[0].vehicles[0].interest",
        ),
        (
            vehicle_lead("<vehicle><price>call us</price></vehicle>"),
            "prospects[0].vehicles[0].price",
        ),
        (
            vehicle_lead("<vehicle><price type=\"appraisal\">1,23,456</price></vehicle>"),
            "prospects[0].vehicles[0].appraisal",
        ),
        (
            vehicle_lead("<vehicle><price>-500</price></vehicle>"),
            "prospects[0].vehicles[0].price",
        ),
        (
            vehicle_lead("<vehicle><odometer units=\"hours\">300</odometer></vehicle>"),
            "prospects[0].vehicles[0].mileage_km",
        ),
        (
            vehicle_lead("<vehicle><odometer>lots</odometer></vehicle>"),
            "prospects[0].vehicles[0].mileage_km",
        ),
        (
            "<adf><prospect><requestdate>03/30/2000</requestdate></prospect></adf>".to_owned(),
            "prospects[0].request_date",
        ),
        (
            "<adf><prospect><requestdate>2000-02-30T10:00:00Z</requestdate></prospect></adf>"
                .to_owned(),
            "prospects[0].request_date",
        ),
        (
            "<adf><prospect status=\"old\"/></adf>".to_owned(),
            "prospects[0].status",
        ),
        (
            "<adf><prospect><customer><timeframe><latestdate>soon</latestdate></timeframe>\
             </customer></prospect></adf>"
                .to_owned(),
            "prospects[0].timeframe.latest",
        ),
    ];
    for (body, field) in cases {
        let (got, detail) = invalid(&body);
        assert_eq!(got.as_deref(), Some(field), "{body}");
        assert!(!detail.is_empty());
    }
    let (_, detail) = invalid(&vehicle_lead("<vehicle><year>20x0</year></vehicle>"));
    assert!(detail.contains("20x0"), "{detail}");
}

#[test]
fn lenient_values() {
    let body = vehicle_lead(
        "<vehicle interest=\"TEST_DRIVE\" status=\"demo\">\
           <year> 0 </year>\
           <odometer units=\"Miles\">12 000</odometer>\
           <price currency=\"usd\">$26,995.50</price>\
           <price type=\"msrp\" delta=\"percentage\" relativeto=\"invoice\">2</price>\
           <make>  Land\n   Rover </make>\
         </vehicle>",
    );
    let document = adf::parse(body.as_bytes(), None).unwrap();
    let p = &document.prospects[0];
    let v = &p.vehicles[0];
    assert_eq!(v.interest, Interest::TestDrive);
    // An unknown new/used status is kept as an extension, not refused.
    assert_eq!(v.status, None);
    assert_eq!(extension(p, "vehicle[0]/@status"), Some("demo"));
    assert_eq!(v.year, None); // 0: "unknown"
    assert_eq!(v.mileage_km, Some(19_312));
    assert_eq!(v.price, Some(26_995.5));
    assert_eq!(v.currency.as_deref(), Some("USD"));
    // A relative price is not an amount: kept as an extension.
    assert_eq!(extension(p, "vehicle[0]/price[1]"), Some("2"));
    assert_eq!(
        extension(p, "vehicle[0]/price[1]/@delta"),
        Some("percentage")
    );
    assert_eq!(v.make.as_deref(), Some("Land Rover"));
    // The empty second vehicle defaults to buy.
    assert_eq!(p.vehicles[1].interest, Interest::Buy);
    assert_eq!(p.request_date, Some(utc("2024-01-01T00:00:00Z")));
}

#[test]
fn empty_values_are_none_and_duplicates_are_kept() {
    let body = "<adf><prospect>\
        <requestdate>  </requestdate>\
        <vehicle><make></make><make>Seat</make><model>Ibiza</model><model>Leon</model></vehicle>\
        <customer><contact>\
          <name part=\"first\"> </name><email/><phone>  </phone>\
          <name part=\"suffix\">Jr.</name>\
        </contact><comments>\n  \n</comments></customer>\
        </prospect></adf>";
    let document = adf::parse(body.as_bytes(), None).unwrap();
    let p = &document.prospects[0];
    assert_eq!(p.request_date, None);
    assert_eq!(p.vehicles[0].make.as_deref(), Some("Seat"));
    assert_eq!(p.vehicles[0].model.as_deref(), Some("Ibiza"));
    assert_eq!(extension(p, "vehicle[0]/model[1]"), Some("Leon"));
    assert_eq!(p.customer.first_name, None);
    assert!(p.customer.emails.is_empty());
    assert!(p.customer.phones.is_empty());
    assert_eq!(p.customer.comments, None);
    assert_eq!(extension(p, "customer/contact/name[1]"), Some("Jr."));
    assert_eq!(
        extension(p, "customer/contact/name[1]/@part"),
        Some("suffix")
    );
}

#[test]
fn vendor_and_provider_names() {
    let body = "<adf><prospect>\
        <vendor><contact><name part=\"first\">Jane</name><name part=\"last\">Smith</name>\
        </contact></vendor>\
        <provider><name part=\"last\">Motors</name><name part=\"full\">Example Motors</name>\
        <id>p-1</id></provider>\
        </prospect></adf>";
    let document = adf::parse(body.as_bytes(), None).unwrap();
    let p = &document.prospects[0];
    // No vendorname: the contact's name parts, joined.
    assert_eq!(
        p.vendor.as_ref().unwrap().name.as_deref(),
        Some("Jane Smith")
    );
    // A full name wins; the part not used is kept.
    assert_eq!(
        p.provider.as_ref().unwrap().name.as_deref(),
        Some("Example Motors")
    );
    assert_eq!(extension(p, "provider/name[0]"), Some("Motors"));
    assert_eq!(extension(p, "provider/name[0]/@part"), Some("last"));
    assert_eq!(extension(p, "provider/id"), Some("p-1"));
}

#[test]
fn structure_tolerance() {
    // Namespaces, a mail signature after the root, text and `&` and `<` that are not markup,
    // an unknown root child, elements straight under <customer>.
    let body = "\n\n<?xml version=\"1.0\"?>\n<a:adf xmlns:a=\"urn:adf\">\
        <ignored>x</ignored>\
        <a:prospect><a:customer><a:name part=\"full\">Smith & Sons</a:name>\
        <email>info@smith.example</email>\
        <comments>budget < 20000 & fast</comments></a:customer></a:prospect>\
        </a:adf>\n-- \nSent from my phone";
    let document = adf::parse(body.as_bytes(), None).unwrap();
    let c = &document.prospects[0].customer;
    assert_eq!(c.full_name.as_deref(), Some("Smith & Sons"));
    assert_eq!(c.emails, vec!["info@smith.example"]);
    assert_eq!(c.comments.as_deref(), Some("budget < 20000 & fast"));

    // A second root could hide a second document's leads: refused.
    let body = "<adf><prospect/></adf><adf><prospect/></adf>";
    assert_eq!(error(body.as_bytes()).kind, AdfError::MALFORMED_XML);
    // An end tag that closes nothing.
    let body = "<adf><prospect/></adf></adf>";
    assert_eq!(error(body.as_bytes()).kind, AdfError::MALFORMED_XML);
    // Root checks.
    assert_eq!(error(b"<ADF/>").kind, AdfError::NO_PROSPECT);
    assert_eq!(error(b"<html><body/></html>").kind, AdfError::NOT_ADF);
    assert_eq!(error(b"<prospect/>").kind, AdfError::NOT_ADF);
    // Prospects count only as children of the root.
    assert_eq!(
        error(b"<adf><leads><prospect/></leads></adf>").kind,
        AdfError::NO_PROSPECT
    );
}

#[test]
fn error_display() {
    let e = error(b"<adf><prospect><vehicle><year>x</year></vehicle></prospect></adf>");
    assert_eq!(
        e.to_string(),
        "invalid_value (prospects[0].vehicles[0].year): `x` is not a four-digit model year"
    );
    let e = error(b"<lead/>");
    assert!(e.to_string().starts_with("not_adf: "), "{e}");
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert!(boxed.to_string().contains("<lead>"));
}
