//! `forecourt demo seed`: a demo reseller with a Go and an Expert dealership and their staff,
//! created through the same services as the API. Safe to run twice (it refuses when the demo
//! reseller's email is taken).

use forecourt_core::App;
use forecourt_core::access::Tier;
use forecourt_tenants::{
    platform::{
        NewAdmin, NewCompany, NewEstablishment, NewPlatformUser, NewReseller, Onboarding,
        create_reseller, onboard,
    },
    users::{TakenElsewhere, insert_user},
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
        demo_contacts(app, t.tenant_id, t.admin_user_id, t.establishment_id).await?;
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
                TakenElsewhere::Refuse,
            )
            .await
            .map_err(err)?;
            writeln!(out, "  {email} ({role})")?;
        }
        if tier == Tier::Expert {
            // A partner feed to try the inbound endpoint with (see the README).
            let c = forecourt_connectors::connectors::service::create_as(
                app,
                forecourt_core::tenancy::TenantId::new(t.tenant_id),
                "demo",
                forecourt_connectors::connectors::service::NewConnector {
                    partner: "AutoScout24",
                    name: "AutoScout24 feed",
                    establishment_id: Some(t.establishment_id),
                    source_id: None,
                    enabled: true,
                },
            )
            .await
            .map_err(err)?;
            writeln!(
                out,
                "  connector of {name}: POST /inbound/{}/leads, secret {}",
                c.id, c.secret
            )?;
        }
    }
    Ok(out)
}

/// A handful of customers and prospects, as a counter would record them.
async fn demo_contacts(
    app: &App,
    tenant_id: uuid::Uuid,
    admin: uuid::Uuid,
    establishment: uuid::Uuid,
) -> anyhow::Result<()> {
    use forecourt_crm::contacts::service::{ContactData, insert_many};

    let people = [
        (
            "Gérard",
            "Ménard",
            "gerard.menard@example.be",
            "+32470123456",
            "customer",
        ),
        (
            "Anne",
            "Peeters",
            "anne.peeters@example.be",
            "+32475987654",
            "prospect",
        ),
        (
            "Inès",
            "Dubois",
            "ines.dubois@example.be",
            "+32496112233",
            "prospect",
        ),
        (
            "Koen",
            "Janssens",
            "koen.janssens@example.be",
            "+32478445566",
            "customer",
        ),
    ];
    let mut items: Vec<(uuid::Uuid, ContactData)> = people
        .iter()
        .map(|(f, l, e, p, lifecycle)| {
            (
                uuid::Uuid::now_v7(),
                ContactData {
                    kind: "person".into(),
                    title: None,
                    first_name: Some((*f).into()),
                    last_name: Some((*l).into()),
                    company_name: None,
                    national_number: None,
                    emails: vec![(*e).into()],
                    phones: vec![(*p).into()],
                    addresses: vec![],
                    vat_rate: None,
                    vat_number: None,
                    position: None,
                    language: None,
                    employer_id: None,
                    birth_date: None,
                    groups: vec![],
                    comments: None,
                    blocked: false,
                    lifecycle: (*lifecycle).into(),
                    // Prospects start where every tenant's prospects start.
                    prospect_status: (*lifecycle == "prospect").then(|| "new".into()),
                    assigned_user_id: Some(admin),
                    assigned_team_id: None,
                    establishment_id: Some(establishment),
                    company_id: None,
                },
            )
        })
        .collect();
    let mut company = items[0].1.clone();
    company.kind = "company".into();
    company.first_name = None;
    company.last_name = None;
    company.company_name = Some("Transports Lambert SA".into());
    company.emails = vec!["fleet@lambert-transports.example.be".into()];
    company.phones = vec!["+3281223344".into()];
    company.vat_number = Some("BE0403170701".into());
    company.national_number = Some("0403170701".into());
    company.vat_rate = Some(21.0);
    items.push((uuid::Uuid::now_v7(), company));
    let txn = forecourt_core::db::begin(&app.db).await?;
    insert_many(
        &txn,
        &forecourt_core::tenancy::TenantId::new(tenant_id),
        &items,
        Some(admin),
        app.clock.now(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let ids: Vec<uuid::Uuid> = items.iter().map(|(id, _)| *id).collect();
    demo_opportunities(&txn, app, tenant_id, admin, establishment, &ids).await?;
    txn.commit().await?;
    Ok(())
}

/// One opportunity in every status, of ages chosen so the expiry rule shows both ways: `new`
/// is 70 days old (expired), the exempt statuses are older still (not expired).
async fn demo_opportunities(
    txn: &sea_orm::DatabaseTransaction,
    app: &App,
    tenant_id: uuid::Uuid,
    admin: uuid::Uuid,
    establishment: uuid::Uuid,
    contacts: &[uuid::Uuid],
) -> anyhow::Result<()> {
    use forecourt_core::{ports::statuses::StatusKind, tenancy::TenantId};
    use forecourt_crm::{
        expiry::service::expire,
        opportunities::service::{Opening, open, statuses},
    };
    let err = |e: forecourt_core::Error| anyhow::anyhow!("{e}");
    let t = TenantId::new(tenant_id);
    let statuses = statuses(app, txn.into(), &t).await.map_err(err)?;
    let now = app.clock.now();
    const AGES_DAYS: [i64; 7] = [70, 10, 20, 90, 100, 30, 40];
    for (i, status) in statuses.keys().enumerate() {
        let created = now - chrono::Duration::days(AGES_DAYS[i % AGES_DAYS.len()]);
        let lost = statuses.kind(status) == StatusKind::Lost;
        let opening = Opening {
            status: status.to_string(),
            lost_reason: lost.then(|| "Bought elsewhere".to_string()),
            customer_info: Some("Looking for a compact car, trade-in possible".into()),
            source_id: None,
            assigned_user_id: Some(admin),
            assigned_team_id: None,
            establishment_id: Some(establishment),
            created_by: Some(admin),
            at: created,
            contacts: vec![(contacts[i % contacts.len()], None)],
            vehicle_ids: Vec::new(),
        };
        open(txn, &t, &statuses, opening).await.map_err(err)?;
    }
    expire(txn, &t, &statuses, now).await.map_err(err)?;
    Ok(())
}
