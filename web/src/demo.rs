//! `forecourt demo seed`: a demo reseller with a Go and an Expert dealership and their staff,
//! created through the same services as the API. Safe to run twice (it refuses when the demo
//! reseller's email is taken).

use forecourt_core::App;
use forecourt_core::module::Tier;
use forecourt_tenants::{
    platform::{
        NewAdmin, NewCompany, NewEstablishment, NewPlatformUser, NewReseller, Onboarding,
        create_reseller, onboard,
    },
    users::insert_user,
};
use std::fmt::Write;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "forecourt-demo";

/// Seeds the demo and returns a summary of the accounts to log in with.
pub async fn seed(app: &App) -> anyhow::Result<String> {
    let err = |e: forecourt_core::Error| anyhow::anyhow!("{e}");
    let reseller = create_reseller(
        app,
        &NewReseller {
            name: "Demo Reseller".into(),
            user: NewPlatformUser {
                email: "reseller@demo.forecourt.test".into(),
                name: "Rita Reseller".into(),
                password: Some(DEMO_PASSWORD.into()),
            },
        },
    )
    .await
    .map_err(err)?;
    let mut out = String::from(
        "demo accounts (password: forecourt-demo):\n  reseller@demo.forecourt.test (reseller)\n",
    );
    let dealers = [
        (
            "Garage Dupont",
            Tier::Go,
            "fr",
            "dupont",
            "Garage Dupont SRL",
            "BE0403170701",
            "Namur",
        ),
        (
            "Autohuis Peeters",
            Tier::Expert,
            "nl",
            "peeters",
            "Autohuis Peeters NV",
            "BE0417497106",
            "Gent",
        ),
    ];
    for (name, tier, lang, slug, company, vat, site) in dealers {
        let t = onboard(
            app,
            Some(reseller.id),
            &Onboarding {
                name: name.into(),
                licence: tier,
                country: Some("BE".into()),
                language: Some(lang.into()),
                company: NewCompany {
                    name: company.into(),
                    vat_number: Some(vat.into()),
                    national_number: None,
                },
                establishment: NewEstablishment { name: site.into() },
                admin: NewAdmin {
                    email: format!("admin@{slug}.demo.forecourt.test"),
                    name: format!("{name} Admin"),
                    password: Some(DEMO_PASSWORD.into()),
                },
            },
        )
        .await
        .map_err(err)?;
        writeln!(
            out,
            "  admin@{slug}.demo.forecourt.test (admin, {} tier)",
            tier.as_str()
        )?;
        for role in ["manager", "salesperson", "receptionist"] {
            let email = format!("{role}@{slug}.demo.forecourt.test");
            insert_user(
                app,
                None,
                t.tenant_id,
                &email,
                &format!("{name} {role}"),
                Some(DEMO_PASSWORD),
                Some(t.establishment_id),
                &[role.to_string()],
            )
            .await
            .map_err(err)?;
            writeln!(out, "  {email} ({role})")?;
        }
    }
    Ok(out)
}
