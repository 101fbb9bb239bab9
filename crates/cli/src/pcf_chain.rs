//! A carbon-footprint chain across the companies of a loopback network, each running the PCF
//! app on its own connector: every company enters its own activity data and bill of
//! materials, asks its direct suppliers for the footprints of what it buys (Ouranos-style
//! trade requests, carried over DSP under a carbon-footprint contract), and answers its
//! customers' requests by linking them to its own product. Nothing else is orchestrated: when
//! a supplier's result arrives, the buyer's app recomputes what depends on it and answers its
//! own customers, so the results climb the chain by themselves.
//!
//! The demo tells the battery story with it, the `tsunagu bench chain` benchmark times a
//! 50-company chain, and the end-to-end test compares the top result with a central
//! computation that no real company could make.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::future::try_join_all;
use tsunagu_pcf::service::{NewRequest, PartInput, Partner, PcfService, TradeDirection};
use tsunagu_pcf::{
    ActivityItem, Allocation, DisclosedFootprint, Disclosure, DisclosurePolicy, FootprintResult,
    Operator, Plant, ProductionProcess, TraceId, Unit,
};
use uuid::Uuid;

use crate::network::Network;

/// One company's product in the chain: what it makes, from its own activities (per declared
/// unit) and from what it buys from other members of the chain.
#[derive(Debug, Clone)]
pub struct ChainProduct {
    /// The member (company name in the network) that makes it; one product per member.
    pub company: String,
    pub part_name: String,
    pub label: String,
    pub unit: Unit,
    pub activities: Vec<ActivityItem>,
    pub inputs: Vec<ChainInput>,
}

/// A bought input: how much of the supplier's product one unit of the buyer's needs.
#[derive(Debug, Clone)]
pub struct ChainInput {
    pub supplier: String,
    pub amount: tsunagu_pcf::Decimal,
    pub unit: Unit,
}

/// What one company computed and what it learned from others.
#[derive(Debug, Clone)]
pub struct CompanyOutcome {
    pub company: String,
    pub part: TraceId,
    /// Its own result, which stays in its connector.
    pub footprint: FootprintResult,
    /// What its direct suppliers disclosed to it, by supplier: all it knows of anyone else.
    pub learned: BTreeMap<String, DisclosedFootprint>,
    /// The customers that asked it, and whether any request carried the customer's amount.
    pub asked_by: Vec<String>,
    pub amounts_seen: bool,
}

#[derive(Debug, Clone)]
pub struct ChainOutcome {
    pub companies: Vec<CompanyOutcome>,
    /// Trade requests sent (one per bought input).
    pub requests: usize,
    /// From the first request to the last result settled at the top.
    pub elapsed: Duration,
}

impl ChainOutcome {
    pub fn company(&self, name: &str) -> Option<&CompanyOutcome> {
        self.companies.iter().find(|c| c.company == name)
    }

    /// Checks that each company learned only what its direct suppliers disclosed to it, was
    /// asked only by its direct customers, and never saw how much of its product they buy.
    pub fn check_confidentiality(&self, products: &[ChainProduct]) -> anyhow::Result<()> {
        for product in products {
            let company = self
                .company(&product.company)
                .with_context(|| format!("{} has no outcome", product.company))?;
            let suppliers: std::collections::BTreeSet<&str> =
                product.inputs.iter().map(|i| i.supplier.as_str()).collect();
            let learned: std::collections::BTreeSet<&str> =
                company.learned.keys().map(String::as_str).collect();
            if learned != suppliers {
                bail!(
                    "{} learned the results of {learned:?}; its direct suppliers are {suppliers:?}",
                    product.company
                );
            }
            let mut customers: Vec<&str> = products
                .iter()
                .filter(|p| p.inputs.iter().any(|i| i.supplier == product.company))
                .map(|p| p.company.as_str())
                .collect();
            customers.sort_unstable();
            let mut asked_by: Vec<&str> = company.asked_by.iter().map(String::as_str).collect();
            asked_by.sort_unstable();
            if asked_by != customers {
                bail!(
                    "{} was asked by {asked_by:?}; its direct customers are {customers:?}",
                    product.company
                );
            }
            if company.amounts_seen {
                bail!("{} saw how much its customers buy", product.company);
            }
        }
        Ok(())
    }
}

/// What a central database holding everyone's data would compute for each product: the
/// check that the companies, each knowing only its own data and its suppliers' results,
/// arrive at the same figures.
pub fn central_results(
    products: &[ChainProduct],
) -> anyhow::Result<BTreeMap<String, FootprintResult>> {
    let factors = tsunagu_pcf::FactorLibrary::bundled();
    let mut results: BTreeMap<String, FootprintResult> = BTreeMap::new();
    let mut remaining: Vec<&ChainProduct> = products.iter().collect();
    while !remaining.is_empty() {
        let before = remaining.len();
        let mut still = Vec::new();
        for product in remaining {
            if !product
                .inputs
                .iter()
                .all(|input| results.contains_key(&input.supplier))
            {
                still.push(product);
                continue;
            }
            let part = TraceId::new(Uuid::new_v4());
            let mut lines = Vec::new();
            let mut supplied = HashMap::new();
            for input in &product.inputs {
                let child = TraceId::new(Uuid::new_v4());
                lines.push(tsunagu_pcf::BomLine {
                    parent: part,
                    child,
                    amount_per_parent: tsunagu_pcf::Quantity::new(input.amount, input.unit),
                });
                supplied.insert(
                    child,
                    Disclosure::StageSplitWithDqr.project(&results[&input.supplier]),
                );
            }
            let bom = tsunagu_pcf::BillOfMaterials::new(lines)?;
            let process = ProductionProcess {
                part,
                declared_unit: product.unit,
                activities: product.activities.clone(),
                allocation: Allocation::none(),
            };
            let result = tsunagu_pcf::roll_up(&tsunagu_pcf::RollupInput {
                product: part,
                bom: &bom,
                processes: &process,
                supplier_results: &supplied,
                factors: &factors,
                computed_at: chrono::Utc::now(),
            })?;
            results.insert(product.company.clone(), result);
        }
        if still.len() == before {
            bail!("the chain's inputs form a cycle or name unknown suppliers");
        }
        remaining = still;
    }
    Ok(results)
}

struct Participant<'a> {
    product: &'a ChainProduct,
    service: &'a PcfService,
    operator: Operator,
    plant: Plant,
    did: String,
}

fn pcf_of<'a>(network: &'a Network, name: &str) -> anyhow::Result<&'a PcfService> {
    network
        .members
        .iter()
        .find(|m| m.company.name == name)
        .with_context(|| format!("{name} is no member of the network"))?
        .node
        .pcf
        .as_ref()
        .map(|(service, _)| service)
        .with_context(|| format!("{name} does not run the PCF app"))
}

fn part_input(
    participant: &Participant<'_>,
    name: &str,
    label: Option<&str>,
    amount: Option<tsunagu_pcf::Decimal>,
    unit: Unit,
) -> PartInput {
    PartInput {
        trace_id: None,
        operator_id: participant.operator.operator_id,
        plant_id: participant.plant.plant_id,
        part_name: name.to_owned(),
        support_part_name: None,
        label_name: label.map(str::to_owned),
        amount_required: amount,
        amount_required_unit: unit,
        terminated_flag: false,
        additional_info: Default::default(),
    }
}

/// Runs the chain over the network's connectors and waits (at most `wait`) until every
/// result has reached every customer.
pub async fn run(
    network: &Network,
    products: &[ChainProduct],
    wait: Duration,
) -> anyhow::Result<ChainOutcome> {
    let mut participants: BTreeMap<&str, Participant<'_>> = BTreeMap::new();
    for product in products {
        let service = pcf_of(network, &product.company)?;
        let operator = service.operator().await?;
        let plant = service
            .plants()
            .await?
            .into_iter()
            .next()
            .with_context(|| format!("{} has no plant", product.company))?;
        let did = network
            .member(&product.company)
            .node
            .participant_id()
            .to_owned();
        if participants
            .insert(
                &product.company,
                Participant {
                    product,
                    service,
                    operator,
                    plant,
                    did,
                },
            )
            .is_some()
        {
            bail!(
                "{} makes more than one product of the chain",
                product.company
            );
        }
    }
    let supplier = |name: &str| {
        participants
            .get(name)
            .with_context(|| format!("supplier {name} makes no product of the chain"))
    };

    // Each company sets up what it makes, with its own data, and says how much each customer
    // may see: the stage split with data quality, which a roll-up needs, and no more.
    let mut bought: Vec<(&str, TraceId, &str)> = Vec::new();
    let mut own_parts: HashMap<&str, TraceId> = HashMap::new();
    for (name, participant) in &participants {
        let product = participant.product;
        let part = if product.inputs.is_empty() {
            participant
                .service
                .put_part(part_input(
                    participant,
                    &product.part_name,
                    Some(&product.label),
                    None,
                    product.unit,
                ))
                .await?
        } else {
            let mut children = Vec::new();
            for input in &product.inputs {
                let from = supplier(&input.supplier)?;
                children.push(part_input(
                    participant,
                    &format!("{} from {}", from.product.part_name, input.supplier),
                    Some(&from.product.label),
                    Some(input.amount),
                    input.unit,
                ));
            }
            let (part, children) = participant
                .service
                .put_parts_structure(
                    part_input(
                        participant,
                        &product.part_name,
                        Some(&product.label),
                        None,
                        product.unit,
                    ),
                    children,
                )
                .await?;
            for (child, input) in children.iter().zip(&product.inputs) {
                bought.push((name, child.trace_id, &input.supplier));
            }
            part
        };
        own_parts.insert(name, part.trace_id);
        participant
            .service
            .put_process(ProductionProcess {
                part: part.trace_id,
                declared_unit: product.unit,
                activities: product.activities.clone(),
                allocation: Allocation::none(),
            })
            .await
            .with_context(|| format!("{}'s activity data", product.company))?;
        let mut policy = DisclosurePolicy::new(Disclosure::TotalOnly);
        for customer in participants.values() {
            if customer
                .product
                .inputs
                .iter()
                .any(|input| input.supplier == product.company)
            {
                policy = policy
                    .with_recipient(customer.operator.operator_id, Disclosure::StageSplitWithDqr);
            }
        }
        participant.service.set_disclosure_policy(policy).await?;
    }

    // Buyers ask their direct suppliers, all at once.
    let started = Instant::now();
    let requests = try_join_all(bought.iter().map(|(buyer, child, from)| {
        let buyer = &participants[buyer];
        async move {
            let from = supplier(from)?;
            buyer
                .service
                .register_partner(Partner {
                    operator: from.operator.clone(),
                    did: from.did.clone(),
                })
                .await?;
            let trade = buyer
                .service
                .request_footprint(NewRequest {
                    downstream_trace_id: *child,
                    upstream_operator_id: from.operator.operator_id,
                    message: Some(format!(
                        "Please send the carbon footprint of {}.",
                        from.product.label
                    )),
                    response_due_date: None,
                })
                .await?;
            anyhow::Ok((trade.request.trade_id, from))
        }
    }))
    .await?;

    // Each supplier links the requests it received to its product.
    try_join_all(requests.iter().map(|(trade_id, from)| {
        let part = own_parts[from.product.company.as_str()];
        async move {
            let deadline = Instant::now() + wait;
            while from.service.trade(*trade_id).await?.is_none() {
                if Instant::now() > deadline {
                    bail!("request {trade_id} did not reach {}", from.product.company);
                }
                // The request is still owed (the supplier was not reachable at once).
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            from.service.answer_request(*trade_id, part).await?;
            anyhow::Ok(())
        }
    }))
    .await?;

    // The results climb by themselves; wait until every buyer holds its suppliers' current
    // results.
    let deadline = Instant::now() + wait;
    loop {
        let mut settled = true;
        for (buyer, child, from) in &bought {
            let held = participants[buyer]
                .service
                .supplier_footprints()
                .await?
                .remove(child)
                .map(|f| f.total_kg_co2e);
            let current = supplier(from)?
                .service
                .own_footprint(own_parts[*from])
                .await?
                .map(|f| f.result.total_kg_co2e());
            if held.is_none() || held != current {
                settled = false;
                break;
            }
        }
        if settled {
            for (name, participant) in &participants {
                if participant
                    .service
                    .own_footprint(own_parts[name])
                    .await?
                    .is_none()
                {
                    settled = false;
                }
            }
        }
        if settled {
            break;
        }
        if Instant::now() > deadline {
            bail!("the chain's results did not settle within {wait:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();

    let names: HashMap<Uuid, &str> = participants
        .iter()
        .map(|(name, p)| (p.operator.operator_id, *name))
        .collect();
    let mut companies = Vec::new();
    for product in products {
        let name = product.company.as_str();
        let service = participants[name].service;
        let footprint = service
            .own_footprint(own_parts[name])
            .await?
            .context("settled")?
            .result;
        let mut learned = BTreeMap::new();
        for trade in service.trades(TradeDirection::Sent).await? {
            if let Some(disclosed) = trade.supplier_footprint {
                let supplier = names.get(&trade.request.upstream_operator_id).map_or_else(
                    || trade.request.upstream_operator_id.to_string(),
                    |n| (*n).to_owned(),
                );
                learned.insert(supplier, disclosed);
            }
        }
        let received = service.trades(TradeDirection::Received).await?;
        let asked_by = received
            .iter()
            .map(|t| {
                names.get(&t.request.downstream_operator_id).map_or_else(
                    || t.request.downstream_operator_id.to_string(),
                    |n| (*n).to_owned(),
                )
            })
            .collect();
        let amounts_seen = received.iter().any(|t| {
            t.requested_part
                .as_ref()
                .is_some_and(|p| p.amount_required.is_some())
        });
        companies.push(CompanyOutcome {
            company: name.to_owned(),
            part: own_parts[name],
            footprint,
            learned,
            asked_by,
            amounts_seen,
        });
    }
    Ok(ChainOutcome {
        companies,
        requests: requests.len(),
        elapsed,
    })
}

/// The battery story of the demo, in six companies and four tiers: a lithium refiner and a
/// nickel refiner supply a cathode-material maker; it and an anode-material maker supply a
/// cell maker; the cell maker supplies a pack maker. The activity data are illustrative,
/// sized after published NMC811 inventories, and computed with the bundled open factors.
pub fn battery_chain() -> anyhow::Result<Vec<ChainProduct>> {
    use crate::pcf_seed::{grid, heat, material, road_freight, sea_freight};
    use tsunagu_pcf::LifeCycleStage::{
        Distribution, EndOfLifeAndRecycling, MainProduction as Main,
        RawMaterialAcquisitionAndPreProcessing as Raw,
    };
    let product = |company: &str,
                   part_name: &str,
                   label: &str,
                   unit: Unit,
                   lines: Vec<crate::pcf_seed::Line>,
                   inputs: &[(&str, &str, Unit)]|
     -> anyhow::Result<ChainProduct> {
        Ok(ChainProduct {
            company: company.to_owned(),
            part_name: part_name.to_owned(),
            label: label.to_owned(),
            unit,
            activities: lines
                .into_iter()
                .map(crate::pcf_seed::Line::into_item)
                .collect::<anyhow::Result<_>>()?,
            inputs: inputs
                .iter()
                .map(|(supplier, amount, unit)| {
                    Ok(ChainInput {
                        supplier: (*supplier).to_owned(),
                        amount: amount.parse()?,
                        unit: *unit,
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        })
    };
    // Under the battery rules, everything up to the active materials is raw material
    // acquisition and pre-processing; cell production and pack assembly are main production.
    Ok(vec![
        product(
            "lithium-refiner",
            "LIOH-H2O-BG",
            "Lithium hydroxide monohydrate, battery grade",
            Unit::Kilogram,
            vec![
                material(Raw, "0.88", "material.lithium_carbonate.brine"),
                grid(Raw, "3", "electricity.grid.cn"),
                heat(Raw, "12"),
                sea_freight(Raw, "5"),
            ],
            &[],
        )?,
        product(
            "nickel-refiner",
            "NISO4-BG",
            "Nickel sulphate hexahydrate, battery grade",
            Unit::Kilogram,
            vec![
                material(Raw, "0.92", "material.nickel_sulphate"),
                grid(Raw, "1.5", "electricity.grid.cn"),
                heat(Raw, "6"),
                sea_freight(Raw, "6"),
            ],
            &[],
        )?,
        product(
            "cathode-maker",
            "CAM-NMC811",
            "Cathode active material NMC811",
            Unit::Kilogram,
            vec![
                material(Raw, "0.29", "material.cobalt_sulphate"),
                material(Raw, "0.17", "material.manganese_sulphate"),
                grid(Raw, "12", "electricity.grid.jp"),
                heat(Raw, "15"),
            ],
            &[
                ("lithium-refiner", "0.45", Unit::Kilogram),
                ("nickel-refiner", "2.16", Unit::Kilogram),
            ],
        )?,
        product(
            "anode-maker",
            "GRAPHITE-SPH",
            "Spheroidised coated natural graphite",
            Unit::Kilogram,
            vec![
                material(Raw, "1.05", "material.graphite.natural_anode"),
                grid(Raw, "1.5", "electricity.grid.jp"),
            ],
            &[],
        )?,
        product(
            "cell-maker",
            "CELL-NMC811-P60",
            "Pouch cell NMC811, 60 Ah (per kWh of capacity)",
            Unit::KilowattHour,
            vec![
                material(Raw, "0.35", "material.aluminium.primary"),
                material(Raw, "0.55", "material.copper.cathode"),
                material(Raw, "0.8", "material.electrolyte.lipf6_carbonates"),
                grid(Main, "40", "electricity.grid.jp"),
                heat(Main, "30"),
            ],
            &[
                ("cathode-maker", "1.65", Unit::Kilogram),
                ("anode-maker", "1.0", Unit::Kilogram),
            ],
        )?,
        product(
            "pack-maker",
            "TSP-75-NMC811",
            "Tsunagu Pack 75, NMC811, 75 kWh",
            Unit::Piece,
            vec![
                material(Main, "25", "material.aluminium.primary"),
                material(Main, "3", "material.copper.cathode"),
                grid(Main, "50", "electricity.grid.jp"),
                road_freight(Distribution, "360"),
                grid(EndOfLifeAndRecycling, "100", "electricity.grid.eu27"),
            ],
            &[("cell-maker", "0.075", Unit::MegawattHour)],
        )?,
    ])
}

/// A synthetic chain for the benchmark: `companies` companies in `tiers` tiers, each tier
/// about half the size of the one below it (at least one company in each). Every company
/// sells to at least one company of the tier above, and a company above the first tier buys
/// from one or two suppliers of the tier below. The company names are `tier{t}-{i}`.
pub fn synthetic_chain(companies: usize, tiers: usize) -> anyhow::Result<Vec<ChainProduct>> {
    use crate::pcf_seed::{grid, heat, material};
    use tsunagu_pcf::LifeCycleStage::{
        MainProduction as Main, RawMaterialAcquisitionAndPreProcessing as Raw,
    };
    if tiers < 2 || companies < tiers {
        bail!("a chain needs at least two tiers and one company per tier");
    }
    // Weights 2^(tiers-1) … 1 from the bottom; the bottom tier takes what rounding leaves.
    let weight_sum: usize = (0..tiers).map(|t| 1 << t).sum();
    let mut sizes: Vec<usize> = (0..tiers)
        .map(|t| (companies * (1 << (tiers - 1 - t)) / weight_sum).max(1))
        .collect();
    let assigned: usize = sizes[1..].iter().sum();
    sizes[0] = companies.saturating_sub(assigned).max(1);
    let name = |tier: usize, i: usize| format!("tier{tier}-{i:02}");
    let mut products = Vec::new();
    for (tier, &size) in sizes.iter().enumerate() {
        for i in 0..size {
            let mut inputs = Vec::new();
            if tier > 0 {
                let below = sizes[tier - 1];
                // Suppliers i, i + size, i + 2·size … cover the tier below; one more makes
                // a second supplier where the tier below has fewer companies.
                let mut suppliers: Vec<usize> = (i..below).step_by(size).collect();
                if suppliers.len() < 2 && below > 1 {
                    suppliers.push((i + 1) % below);
                }
                suppliers.dedup();
                for supplier in suppliers {
                    inputs.push(ChainInput {
                        supplier: name(tier - 1, supplier),
                        amount: "0.5".parse()?,
                        unit: Unit::Kilogram,
                    });
                }
            }
            let lines = if tier == 0 {
                vec![
                    material(Raw, "1", "material.nickel_sulphate"),
                    grid(Raw, "2", "electricity.grid.cn"),
                ]
            } else {
                vec![grid(Main, "3", "electricity.grid.jp"), heat(Main, "2")]
            };
            products.push(ChainProduct {
                company: name(tier, i),
                part_name: format!("P-{tier}-{i}"),
                label: format!("Product of tier {tier}, company {i}"),
                unit: Unit::Kilogram,
                activities: lines
                    .into_iter()
                    .map(crate::pcf_seed::Line::into_item)
                    .collect::<anyhow::Result<_>>()?,
                inputs,
            });
        }
    }
    Ok(products)
}
