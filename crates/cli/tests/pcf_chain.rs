//! The carbon-footprint chain over DSP: six companies in four tiers, each running the PCF
//! app on its own connector, compute the battery story's footprints from their own data and
//! their direct suppliers' results. The figures equal what a central database holding
//! everyone's data would compute; each company learns only its direct suppliers' results; and
//! a change at the bottom of the chain reaches the pack maker with nobody re-entering
//! anything.

use std::time::{Duration, Instant};

use tsunagu::network::{Company, Network, NetworkOptions};
use tsunagu::pcf_chain::{self, ChainProduct};
use tsunagu_pcf::service::PcfService;
use tsunagu_pcf::{Allocation, NotificationKind, ProductionProcess};

const WAIT: Duration = Duration::from_secs(30);

fn pcf<'a>(network: &'a Network, name: &str) -> &'a PcfService {
    &network.member(name).node.pcf.as_ref().unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_computes_what_a_central_database_would_and_nobody_learns_more() {
    let dir = tempfile::tempdir().unwrap();
    let products: Vec<ChainProduct> = pcf_chain::battery_chain().unwrap();
    let companies = products
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let role = match p.company.as_str() {
                "cell-maker" => "cellMaker",
                "pack-maker" => "packMaker",
                _ => "materialMaker",
            };
            Company::new(
                &p.company,
                &format!("{} K.K.", p.company),
                700_000_000_000 + i as u64,
                &[role],
            )
        })
        .collect();
    let network = Network::start_with(
        dir.path(),
        companies,
        NetworkOptions {
            pcf_app: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let outcome = pcf_chain::run(&network, &products, WAIT).await.unwrap();
    let central = pcf_chain::central_results(&products).unwrap();
    for company in &outcome.companies {
        assert_eq!(
            company.footprint.stages, central[&company.company].stages,
            "{}: the chain and the central computation differ",
            company.company
        );
        assert_eq!(
            company.footprint.declared_unit,
            central[&company.company].declared_unit
        );
    }
    outcome.check_confidentiality(&products).unwrap();
    // A cell in tens of kg CO2e per kWh of capacity, as published studies find (61-106).
    let cell = outcome
        .company("cell-maker")
        .unwrap()
        .footprint
        .total_kg_co2e();
    assert!(
        cell > 50.into() && cell < 110.into(),
        "cell: {cell} kg CO2e/kWh"
    );
    // The requests and answers travelled over DSP: each buyer holds an agreement for each
    // supplier's trade inbox.
    for product in &products {
        let buyer = &network.member(&product.company).node;
        let agreements = buyer
            .connector
            .agreements(tsunagu_store::Page::ALL)
            .await
            .unwrap();
        for input in &product.inputs {
            let supplier = network
                .member(&input.supplier)
                .node
                .participant_id()
                .to_owned();
            assert!(
                agreements.iter().any(|a| a.provider_id == supplier
                    && a.dataset_id == tsunagu::pcf_dsp::TRADE_INBOX_ASSET_ID),
                "{} holds no agreement for {}'s inbox",
                product.company,
                input.supplier
            );
        }
    }

    // The lithium refiner switches to a more energy-intensive process; the change climbs
    // to the pack maker by itself.
    let refiner = outcome.company("lithium-refiner").unwrap();
    let mut changed = products.clone();
    let lithium = changed
        .iter_mut()
        .find(|p| p.company == "lithium-refiner")
        .unwrap();
    let mut extra = lithium.activities[1].clone();
    extra.quantity = tsunagu_pcf::Quantity::new(20.into(), extra.quantity.unit);
    lithium.activities.push(extra);
    pcf(&network, "lithium-refiner")
        .put_process(ProductionProcess {
            part: refiner.part,
            declared_unit: lithium.unit,
            activities: lithium.activities.clone(),
            allocation: Allocation::none(),
        })
        .await
        .unwrap();
    let expected = pcf_chain::central_results(&changed).unwrap();
    let pack = outcome.company("pack-maker").unwrap();
    assert_ne!(expected["pack-maker"].stages, pack.footprint.stages);
    let deadline = Instant::now() + WAIT;
    loop {
        let now = pcf(&network, "pack-maker")
            .own_footprint(pack.part)
            .await
            .unwrap()
            .unwrap()
            .result;
        if now.stages == expected["pack-maker"].stages {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the change did not reach the pack maker: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let told = pcf(&network, "pack-maker")
        .notifications(0, 1000)
        .await
        .unwrap();
    assert!(
        told.iter().any(|n| matches!(
            &n.kind,
            NotificationKind::FootprintRecomputed { part, before_kg_co2e: Some(before), .. }
                if *part == pack.part && *before == pack.footprint.total_kg_co2e()
        )),
        "the pack maker was told of the recomputation: {told:#?}"
    );
}
