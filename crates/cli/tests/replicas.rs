//! Resilience of a company that runs several `tsunagu serve` replicas on one PostgreSQL
//! database, with real processes on loopback sockets, driven only through the management API.
//!
//! The promise under test: workers lease rows, so that two replicas on one database process
//! each negotiation and transfer exactly once, and a replica killed with SIGKILL mid-flight
//! loses nothing: the survivor, or the restarted replica, finishes its work.
//!
//! "Exactly once" is checked from the outside: a message delivered twice is refused by its
//! receiver as an illegal transition (or, for an initial request, opens a second process), and
//! that shows as a TERMINATED or duplicated process or as a surplus agreement. Before the final
//! states are read, the tests wait until neither company's database owes any message any more
//! (a read-only look at the `pending` column), so that a late duplicate delivery cannot slip
//! past them.
//!
//! Without PostgreSQL server binaries the tests print a skip line and pass (CI sets
//! `TSUNAGU_REQUIRE_POSTGRES=1`, which makes that a failure). They run one at a time.

#[path = "support/replicas_support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use support::{Api, Company, Deadline, Replica, WorkProbe, by_id};

/// The tests start several processes each; running them one at a time keeps a 2-core machine
/// responsive and the printed figures meaningful.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PROVIDER_ID: &str = "did:web:cathode-maker.example";
const CONSUMER_ID: &str = "did:web:cell-maker.example";
const ASSET_ID: &str = "cathode-batch-42-pcf";
const MEDIA_TYPE: &str = "application/json";
/// How long any awaited state may take.
const PATIENCE: Duration = Duration::from_secs(60);
/// Negotiations started in the negotiation tests.
const NEGOTIATIONS: usize = 100;
/// Transfers started in the transfer test.
const TRANSFERS: usize = 30;
/// Management calls in flight at once while starting negotiations.
const CLIENT_CONCURRENCY: usize = 16;

/// The published bytes: 64 KiB that differ from position to position.
fn asset_bytes() -> Vec<u8> {
    let mut bytes = b"{\"pcf\":\"".to_vec();
    bytes.extend((0..64 * 1024).map(|i: u32| b'a' + (i.wrapping_mul(7919) % 26) as u8));
    bytes.extend_from_slice(b"\"}");
    bytes
}

fn sqlite_url(dir: &std::path::Path, name: &str) -> String {
    format!("sqlite:{}", dir.join(name).display())
}

/// Publishes the asset with its bytes under an open policy, through `provider`.
async fn publish(provider: &Api) {
    provider
        .create(
            "/v3/assets",
            json!({
                "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
                "@id": ASSET_ID,
                "properties": {"name": "Carbon footprint of cathode batch 42"},
            }),
        )
        .await;
    let uploaded = provider
        .put_bytes(
            &format!("/v3/assets/{ASSET_ID}/data"),
            MEDIA_TYPE,
            asset_bytes(),
        )
        .await
        .ok_json();
    assert_eq!(
        uploaded["dataAddress"]["size"],
        asset_bytes().len(),
        "{uploaded}"
    );
    provider
        .create(
            "/v3/policydefinitions",
            json!({"@id": "open", "policy": {"@type": "Set", "permission": [{"action": "use"}]}}),
        )
        .await;
    provider
        .create(
            "/v3/contractdefinitions",
            json!({"@id": "everything-open", "accessPolicyId": "open", "contractPolicyId": "open", "assetsSelector": []}),
        )
        .await;
}

/// The offer for the asset in the catalog `consumer` gets from the provider at `provider_dsp`.
async fn offer(consumer: &Api, provider_dsp: &str) -> Value {
    let catalog = consumer
        .post(
            "/v3/catalog/request",
            json!({"counterPartyAddress": provider_dsp, "protocol": "dataspace-protocol-http:2025-1"}),
        )
        .await
        .ok_json();
    let dataset = &catalog["dataset"][0];
    assert_eq!(
        dataset["@id"], ASSET_ID,
        "the catalog of {provider_dsp} does not offer the asset: {catalog}"
    );
    let offer = dataset["hasPolicy"][0].clone();
    assert!(
        offer["@id"].is_string(),
        "no offer in the catalog of {provider_dsp}: {catalog}"
    );
    offer
}

/// Starts `count` negotiations through `consumer`, spread round-robin over `targets`
/// (provider DSP address, offer found there). Returns the consumer's negotiation ids in order.
async fn start_negotiations(
    consumer: &Api,
    targets: &[(String, Value)],
    count: usize,
) -> Vec<String> {
    futures::stream::iter(0..count)
        .map(|i| {
            let (address, offer) = &targets[i % targets.len()];
            let body = json!({
                "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
                "@type": "ContractRequest",
                "counterPartyAddress": address,
                "counterPartyId": PROVIDER_ID,
                "protocol": "dataspace-protocol-http:2025-1",
                "policy": offer,
            });
            async move { consumer.create("/v3/contractnegotiations", body).await }
        })
        .buffered(CLIENT_CONCURRENCY)
        .collect()
        .await
}

fn state(record: &Value) -> &str {
    record["state"].as_str().unwrap_or("?")
}

/// `STATE: count, ...` of the given records.
fn histogram<'a>(records: impl IntoIterator<Item = &'a Value>) -> String {
    let mut counts = BTreeMap::<String, usize>::new();
    for record in records {
        *counts.entry(state(record).to_owned()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(state, count)| format!("{state}: {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a process ended as it did, short: the `errorDetail` with the counter-party's JSON
/// answer reduced to its `reason`.
fn error(record: &Value) -> String {
    let Some(detail) = record["errorDetail"].as_str() else {
        return "no error detail".into();
    };
    match (detail.find('{'), detail.find("\"reason\":")) {
        (Some(json), Some(reason)) => {
            let end = detail[reason..]
                .find(']')
                .map_or(detail.len(), |end| reason + end + 1);
            format!("{}{}", &detail[..json], &detail[reason..end])
        }
        _ => detail.to_owned(),
    }
}

/// `id STATE (errorDetail)` of each of `ids` in `records`, at most 20.
fn describe(ids: &[&String], records: &BTreeMap<String, Value>) -> String {
    let mut lines: Vec<String> = ids
        .iter()
        .take(20)
        .map(|id| match records.get(*id) {
            Some(record) => format!("{id} {} ({})", state(record), error(record)),
            None => format!("{id} (not listed)"),
        })
        .collect();
    if ids.len() > 20 {
        lines.push(format!("... and {} more", ids.len() - 20));
    }
    lines.join("; ")
}

/// Polls the negotiations `ids` at `consumer` until each is FINALIZED or TERMINATED.
/// Returns how long that took.
async fn wait_negotiations_settled(consumer: &Api, ids: &[String]) -> Duration {
    let deadline = Deadline::new(
        format!("the end of {} negotiations at the consumer", ids.len()),
        PATIENCE,
    );
    loop {
        let records = by_id(&consumer.negotiations().await);
        let open: Vec<&String> = ids
            .iter()
            .filter(|id| {
                !records
                    .get(*id)
                    .is_some_and(|n| matches!(state(n), "FINALIZED" | "TERMINATED"))
            })
            .collect();
        if open.is_empty() {
            return deadline.elapsed();
        }
        deadline
            .tick(|| format!("{} still open: {}", open.len(), describe(&open, &records)))
            .await;
    }
}

/// Polls until neither company's database owes a message any more. Returns what is still owed
/// when the deadline passes (as problems for the final report) instead of panicking, so that
/// the report also says in which state everything ended.
async fn wait_quiet(probes: &[(&str, &WorkProbe)]) -> Vec<String> {
    let deadline = Deadline::new("quiet", PATIENCE);
    loop {
        let mut owed = Vec::new();
        for (company, probe) in probes {
            for work in probe.pending_work().await {
                owed.push(format!("{company} still owes a message: {work}"));
            }
        }
        if owed.is_empty() || deadline.expired() {
            return owed;
        }
        deadline.tick(String::new).await;
    }
}

/// Every way in which the two companies' records can show a negotiation that was not done
/// exactly once. `consumer_ids` are the negotiations the test started.
fn negotiation_problems(
    consumer_ids: &[String],
    consumer_negotiations: &[Value],
    consumer_agreements: &[Value],
    provider_negotiations: &[Value],
    provider_agreements: &[Value],
) -> Vec<String> {
    let mut problems = Vec::new();
    let consumer = by_id(consumer_negotiations);
    let started: BTreeSet<&String> = consumer_ids.iter().collect();

    // Consumer: each started negotiation FINALIZED with an agreement, nothing else.
    let mut consumer_agreement_of = BTreeMap::new();
    for id in consumer_ids {
        match consumer.get(id) {
            None => problems.push(format!("consumer: negotiation {id} is not listed")),
            Some(n) if state(n) != "FINALIZED" => problems.push(format!(
                "consumer: negotiation {id} is {} ({})",
                state(n),
                error(n)
            )),
            Some(n) => match n["contractAgreementId"].as_str() {
                Some(agreement) => {
                    consumer_agreement_of.insert(id.clone(), agreement.to_owned());
                }
                None => problems.push(format!(
                    "consumer: FINALIZED negotiation {id} has no agreement"
                )),
            },
        }
    }
    for id in consumer.keys().filter(|id| !started.contains(id)) {
        problems.push(format!(
            "consumer: negotiation {id} ({}) was not started by the test",
            state(&consumer[id])
        ));
    }
    // Every agreement a consumer negotiation names, whatever its state.
    let named_by_consumer: BTreeSet<String> = consumer
        .values()
        .filter_map(|n| n["contractAgreementId"].as_str().map(str::to_owned))
        .collect();
    let consumer_agreement_ids: BTreeSet<String> = consumer_agreements
        .iter()
        .filter_map(|a| a["@id"].as_str().map(str::to_owned))
        .collect();
    if consumer_agreements.len() != consumer_ids.len() {
        problems.push(format!(
            "consumer: {} agreements for {} negotiations",
            consumer_agreements.len(),
            consumer_ids.len()
        ));
    }
    let expected_agreements: BTreeSet<String> = consumer_agreement_of.values().cloned().collect();
    for missing in expected_agreements.difference(&consumer_agreement_ids) {
        problems.push(format!(
            "consumer: agreement {missing} of a FINALIZED negotiation is not listed"
        ));
    }

    // Provider: exactly one negotiation per consumer process, FINALIZED, same agreement.
    let mut provider_by_consumer_pid = BTreeMap::<String, Vec<&Value>>::new();
    for n in provider_negotiations {
        if n["type"] != "PROVIDER" {
            problems.push(format!(
                "provider: negotiation {} has role {}",
                n["@id"], n["type"]
            ));
        }
        let consumer_pid = n["correlationId"].as_str().unwrap_or("(none)").to_owned();
        provider_by_consumer_pid
            .entry(consumer_pid)
            .or_default()
            .push(n);
    }
    let show = |n: &Value| {
        format!(
            "{} {} ({})",
            n["@id"].as_str().unwrap_or("?"),
            state(n),
            error(n)
        )
    };
    for id in consumer_ids {
        match provider_by_consumer_pid.get(id).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!(
                "provider: no negotiation for consumer process {id}"
            )),
            Some([one]) => {
                if state(one) != "FINALIZED" {
                    problems.push(format!(
                        "provider: negotiation for consumer process {id} is {}",
                        show(one)
                    ));
                } else if let Some(agreement) = consumer_agreement_of.get(id)
                    && one["contractAgreementId"].as_str() != Some(agreement.as_str())
                {
                    problems.push(format!(
                        "provider: negotiation {} agreed {} but the consumer holds {agreement}",
                        show(one),
                        one["contractAgreementId"]
                    ));
                }
            }
            Some(many) => problems.push(format!(
                "provider: {} negotiations for one consumer process {id} (its request was processed more than once): {}",
                many.len(),
                many.iter().map(|n| show(n)).collect::<Vec<_>>().join(", ")
            )),
        }
    }
    for (consumer_pid, negotiations) in &provider_by_consumer_pid {
        if !started.contains(consumer_pid) {
            for n in negotiations {
                problems.push(format!(
                    "provider: negotiation {} belongs to no started consumer process ({consumer_pid})",
                    show(n)
                ));
            }
        }
    }
    if provider_agreements.len() != consumer_ids.len() {
        problems.push(format!(
            "provider: {} agreements for {} negotiations",
            provider_agreements.len(),
            consumer_ids.len()
        ));
    }
    let provider_agreement_ids: BTreeSet<String> = provider_agreements
        .iter()
        .filter_map(|a| a["@id"].as_str().map(str::to_owned))
        .collect();
    for surplus in provider_agreement_ids.difference(&named_by_consumer) {
        problems.push(format!(
            "provider: agreement {surplus} is held by no consumer negotiation"
        ));
    }
    problems
}

/// The problems found, one a line: the first 40 in full (error details cut at 600
/// characters), then how many more.
fn report(problems: &[String]) -> String {
    const SHOWN: usize = 40;
    let mut lines = vec![format!("{} problem(s):", problems.len())];
    for problem in problems.iter().take(SHOWN) {
        let mut line = problem.clone();
        if let Some((cut, _)) = line.char_indices().nth(600) {
            line.truncate(cut);
            line.push_str(" [...]");
        }
        lines.push(line);
    }
    if problems.len() > SHOWN {
        lines.push(format!("... and {} more", problems.len() - SHOWN));
    }
    lines.join("\n")
}

/// Reads both companies' final records and fails with every problem found.
async fn assert_negotiated_exactly_once(
    consumer: &Api,
    provider: &Api,
    consumer_ids: &[String],
    mut problems: Vec<String>,
) {
    let consumer_negotiations = consumer.negotiations().await;
    let provider_negotiations = provider.negotiations().await;
    eprintln!(
        "consumer negotiations: {} [{}]; provider negotiations: {} [{}]",
        consumer_negotiations.len(),
        histogram(&consumer_negotiations),
        provider_negotiations.len(),
        histogram(&provider_negotiations),
    );
    problems.extend(negotiation_problems(
        consumer_ids,
        &consumer_negotiations,
        &consumer.agreements().await,
        &provider_negotiations,
        &provider.agreements().await,
    ));
    assert!(problems.is_empty(), "{}", report(&problems));
}

/// Starts a pull transfer under `agreement` through `starter`, waits until `reader` sees it
/// STARTED and fetches its data through `reader`. Returns the transfer id.
async fn pull_once(starter: &Api, reader: &Api, provider_dsp: &str, agreement: &str) -> String {
    let id = starter
        .create(
            "/v3/transferprocesses",
            json!({
                "@context": {"@vocab": "https://w3id.org/edc/v0.0.1/ns/"},
                "@type": "TransferRequest",
                "counterPartyAddress": provider_dsp,
                "contractId": agreement,
                "transferType": "HttpData-PULL",
                "protocol": "dataspace-protocol-http:2025-1",
            }),
        )
        .await;
    let deadline = Deadline::new(format!("the start of transfer {id}"), PATIENCE);
    loop {
        let transfer = reader
            .get(&format!("/v3/transferprocesses/{id}/state"))
            .await
            .ok_json();
        match state(&transfer) {
            "STARTED" => break,
            "REQUESTED" | "INITIAL" => {}
            other => {
                let full = reader
                    .get(&format!("/v3/transferprocesses/{id}"))
                    .await
                    .ok_json();
                panic!("transfer {id} ended {other} instead of STARTED: {full}");
            }
        }
        deadline
            .tick(|| format!("transfer {id} is {}", state(&transfer)))
            .await;
    }
    let data = reader
        .get(&format!("/v3/transferprocesses/{id}/data"))
        .await;
    assert!(
        data.ok_bytes() == asset_bytes().as_slice(),
        "transfer {id} brought {} bytes that differ from the {} published",
        data.ok_bytes().len(),
        asset_bytes().len()
    );
    id
}

#[tokio::test]
async fn two_provider_replicas_on_one_postgres_process_each_negotiation_exactly_once() {
    let Some(database) = tsunagu_testkit::fresh_postgres_database() else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let provider = Company {
        participant_id: PROVIDER_ID.into(),
        database_url: database.clone(),
        worker_batch: None,
    };
    let consumer_company = Company {
        participant_id: CONSUMER_ID.into(),
        database_url: sqlite_url(dir.path(), "consumer.sqlite"),
        worker_batch: None,
    };
    // Both replicas start at once: they also race to migrate the shared database.
    let (a, b, consumer) = tokio::join!(
        Replica::start("provider-a", &provider, dir.path()),
        Replica::start("provider-b", &provider, dir.path()),
        Replica::start("consumer", &consumer_company, dir.path()),
    );
    publish(a.api()).await;
    // Each replica advertises itself and offers what was published through one of them; an
    // offer found at one replica is honoured by the other.
    let offer_of_a = offer(consumer.api(), &a.dsp_url()).await;
    let offer_of_b = offer(consumer.api(), &b.dsp_url()).await;
    let targets = vec![(a.dsp_url(), offer_of_b), (b.dsp_url(), offer_of_a)];

    // Which workers lease provider rows while the negotiations run, sampled: a worker id is a
    // process, so two ids mean both replicas delivered messages.
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampler = {
        let probe = WorkProbe::open(&database).await;
        let stop = stop_sampling.clone();
        tokio::spawn(async move {
            let mut owners = BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                // A lease owner is a replica's worker id, followed by `#<delivery>` when a
                // write leased the row for an immediate delivery: count replicas, not deliveries.
                owners.extend(
                    probe
                        .lease_owners()
                        .await
                        .into_iter()
                        .map(|owner| owner.split('#').next().unwrap_or_default().to_owned()),
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            owners
        })
    };
    let started = Instant::now();
    let ids = start_negotiations(consumer.api(), &targets, NEGOTIATIONS).await;
    let creation = started.elapsed();
    wait_negotiations_settled(consumer.api(), &ids).await;
    let settled = started.elapsed();
    stop_sampling.store(true, Ordering::Relaxed);
    let lease_owners = sampler.await.expect("the lease sampler");
    eprintln!(
        "provider workers seen holding leases (sampled every 2 ms): {} {lease_owners:?}",
        lease_owners.len()
    );
    let probes = [
        ("provider", &WorkProbe::open(&database).await),
        (
            "consumer",
            &WorkProbe::open(&consumer_company.database_url).await,
        ),
    ];
    let problems = wait_quiet(&probes).await;
    eprintln!(
        "{NEGOTIATIONS} negotiations (half through {}, half through {}): all started after {creation:?}, all settled at the consumer after {:?}, both companies quiet after {:?}",
        a.dsp_url(),
        b.dsp_url(),
        settled,
        started.elapsed()
    );

    // Both replicas see the same records: they share one database.
    let through_a: BTreeSet<String> = by_id(&a.api().negotiations().await).into_keys().collect();
    let through_b: BTreeSet<String> = by_id(&b.api().negotiations().await).into_keys().collect();
    assert_eq!(
        through_a, through_b,
        "the replicas list different negotiations"
    );
    assert_negotiated_exactly_once(consumer.api(), b.api(), &ids, problems).await;
    assert_eq!(
        lease_owners.len(),
        2,
        "both provider replicas should have delivered messages, but the sampled leases name these workers only: {lease_owners:?}"
    );
    eprintln!("test took {:?}", began.elapsed());
}

#[tokio::test]
async fn a_replica_killed_mid_flight_loses_nothing() {
    kill_a_consumer_replica_mid_negotiations(Outage::RestartAtOnce).await;
}

#[tokio::test]
async fn a_replica_down_longer_than_its_lease_loses_nothing() {
    kill_a_consumer_replica_mid_negotiations(Outage::OutlastTheLease).await;
}

/// How long the killed replica stays down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outage {
    /// It is restarted as soon as it is dead: the provider's retries reach it soon, and the
    /// rows it had leased are retaken once the leases run out.
    RestartAtOnce,
    /// It stays down until its leases have run out and the survivor's idle poll (0.5 s) has
    /// come round, so that the survivor takes over its unfinished deliveries first.
    OutlastTheLease,
}

/// Consumer company = replicas C1 and C2 on one PostgreSQL database, provider = one process
/// on SQLite. C1 starts the negotiations and is killed with SIGKILL right after; the provider
/// calls back the address C1 gave it, so C1 comes back on its port, after `outage`.
async fn kill_a_consumer_replica_mid_negotiations(outage: Outage) {
    let Some(database) = tsunagu_testkit::fresh_postgres_database() else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let provider_company = Company {
        participant_id: PROVIDER_ID.into(),
        database_url: sqlite_url(dir.path(), "provider.sqlite"),
        worker_batch: None,
    };
    let consumer = Company {
        participant_id: CONSUMER_ID.into(),
        database_url: database.clone(),
        worker_batch: None,
    };
    let (provider, mut c1, c2) = tokio::join!(
        Replica::start("provider", &provider_company, dir.path()),
        Replica::start("consumer-1", &consumer, dir.path()),
        Replica::start("consumer-2", &consumer, dir.path()),
    );
    publish(provider.api()).await;
    let targets = vec![(
        provider.dsp_url(),
        offer(c1.api(), &provider.dsp_url()).await,
    )];

    let started = Instant::now();
    let ids = start_negotiations(c1.api(), &targets, NEGOTIATIONS).await;
    c1.kill().await;
    let killed = Instant::now();
    // What C1 left behind, as its surviving twin reads it.
    let at_kill = by_id(&c2.api().negotiations().await);
    let in_flight: Vec<&Value> = ids
        .iter()
        .filter_map(|id| at_kill.get(id))
        .filter(|n| state(n) != "FINALIZED")
        .collect();
    eprintln!(
        "killed {} {:?} after the first of {NEGOTIATIONS} negotiations was started: {} not yet FINALIZED [{}]",
        c1.name,
        killed - started,
        in_flight.len(),
        histogram(in_flight.iter().copied())
    );
    assert!(
        !in_flight.is_empty(),
        "every negotiation was FINALIZED before the kill, so the kill proves nothing: [{}]",
        histogram(at_kill.values())
    );

    if outage == Outage::OutlastTheLease {
        // The outage itself, not a wait for some state: C1 is down for this long.
        tokio::time::sleep(Duration::from_millis(support::LEASE_SECS * 1000 + 1000)).await;
    }
    c1.restart().await;
    let restarted = killed.elapsed();
    wait_negotiations_settled(c2.api(), &ids).await;
    let settled = killed.elapsed();
    let probes = [
        ("consumer", &WorkProbe::open(&database).await),
        (
            "provider",
            &WorkProbe::open(&provider_company.database_url).await,
        ),
    ];
    let problems = wait_quiet(&probes).await;
    eprintln!(
        "recovery ({outage:?}): {} restarted {restarted:?} after the kill; all {NEGOTIATIONS} negotiations settled {settled:?} and both companies quiet {:?} after the kill",
        c1.name,
        killed.elapsed()
    );
    assert_negotiated_exactly_once(c2.api(), provider.api(), &ids, problems).await;

    // The company works on: a transfer started through the survivor, data read through the
    // restarted replica.
    let agreement = c2
        .api()
        .get(&format!("/v3/contractnegotiations/{}", ids[0]))
        .await
        .ok_json()["contractAgreementId"]
        .as_str()
        .expect("a FINALIZED negotiation names its agreement")
        .to_owned();
    let transfer = pull_once(c2.api(), c1.api(), &provider.dsp_url(), &agreement).await;
    eprintln!(
        "transfer {transfer} under {agreement} brought the data; test took {:?}",
        began.elapsed()
    );
}

#[tokio::test]
async fn a_replica_killed_while_transfers_start_loses_none() {
    let Some(database) = tsunagu_testkit::fresh_postgres_database() else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let provider_company = Company {
        participant_id: PROVIDER_ID.into(),
        database_url: sqlite_url(dir.path(), "provider.sqlite"),
        worker_batch: None,
    };
    let consumer = Company {
        participant_id: CONSUMER_ID.into(),
        database_url: database.clone(),
        // One delivery at a time per replica: a transfer needs only two messages, and with
        // the default 64 at once all of them start within a few milliseconds, leaving nothing
        // in flight to kill.
        worker_batch: Some(1),
    };
    let (provider, mut c1, c2) = tokio::join!(
        Replica::start("provider", &provider_company, dir.path()),
        Replica::start("consumer-1", &consumer, dir.path()),
        Replica::start("consumer-2", &consumer, dir.path()),
    );
    publish(provider.api()).await;
    let targets = vec![(
        provider.dsp_url(),
        offer(c1.api(), &provider.dsp_url()).await,
    )];
    let negotiation = start_negotiations(c1.api(), &targets, 1).await;
    wait_negotiations_settled(c1.api(), &negotiation).await;
    let agreement = c1
        .api()
        .get(&format!("/v3/contractnegotiations/{}", negotiation[0]))
        .await
        .ok_json()["contractAgreementId"]
        .as_str()
        .unwrap_or_else(|| panic!("negotiation {} did not finalize", negotiation[0]))
        .to_owned();

    // All transfers are requested at once, and the replica is killed as soon as a third of
    // them have STARTED: by then others are on their way to or from the provider, and some
    // requests to the management API may still be unanswered (each of those either reached
    // the database or not).
    let started = Instant::now();
    let requests = {
        let api = c1.api().clone();
        let body = json!({
            "counterPartyAddress": provider.dsp_url(),
            "contractId": agreement,
            "transferType": "HttpData-PULL",
        });
        tokio::spawn(async move {
            futures::stream::iter(0..TRANSFERS)
                .map(|_| api.try_create("/v3/transferprocesses", body.clone()))
                .buffer_unordered(TRANSFERS)
                .collect::<Vec<_>>()
                .await
        })
    };
    let trigger = Deadline::new(
        format!("{} STARTED transfers before the kill", TRANSFERS / 3),
        PATIENCE,
    );
    loop {
        let transfers = c2.api().transfers().await;
        if transfers.iter().filter(|t| state(t) == "STARTED").count() >= TRANSFERS / 3 {
            break;
        }
        trigger
            .tick(|| format!("[{}]", histogram(&transfers)))
            .await;
    }
    c1.kill().await;
    let killed = Instant::now();
    let mut answered = Vec::new();
    let mut cut_off = 0;
    for outcome in requests.await.expect("the transfer requests") {
        match outcome {
            Ok(id) => answered.push(id),
            Err(_) => cut_off += 1,
        }
    }
    let at_kill = by_id(&c2.api().transfers().await);
    let in_flight = at_kill
        .values()
        .filter(|t| t["type"] == "CONSUMER" && state(t) != "STARTED")
        .count();
    eprintln!(
        "killed {} {:?} after the first of {TRANSFERS} transfer requests: {} answered, {cut_off} cut off; the company holds {} transfers, {in_flight} of them not yet STARTED [{}]",
        c1.name,
        killed - started,
        answered.len(),
        at_kill.len(),
        histogram(at_kill.values())
    );
    assert!(
        in_flight > 0,
        "every transfer was STARTED before the kill, so the kill proves nothing: [{}]",
        histogram(at_kill.values())
    );
    for id in &answered {
        assert!(
            at_kill.contains_key(id),
            "transfer {id} was created (its id was answered) but the company does not hold it"
        );
    }

    c1.restart().await;
    let restarted = killed.elapsed();
    // Every transfer the company holds must start, including those whose creation was cut off
    // after it reached the database; the listing is read anew each time.
    let deadline = Deadline::new("the start of every transfer", PATIENCE);
    loop {
        let records = by_id(&c2.api().transfers().await);
        let waiting: Vec<&String> = records
            .iter()
            .filter(|(_, t)| state(t) == "REQUESTED")
            .map(|(id, _)| id)
            .collect();
        if waiting.is_empty() {
            break;
        }
        deadline
            .tick(|| {
                format!(
                    "{} not started: {}",
                    waiting.len(),
                    describe(&waiting, &records)
                )
            })
            .await;
    }
    let settled = killed.elapsed();
    let probes = [
        ("consumer", &WorkProbe::open(&database).await),
        (
            "provider",
            &WorkProbe::open(&provider_company.database_url).await,
        ),
    ];
    let mut problems = wait_quiet(&probes).await;
    eprintln!(
        "recovery: {} restarted {restarted:?} after the kill; no transfer REQUESTED any more {settled:?} and both companies quiet {:?} after the kill",
        c1.name,
        killed.elapsed()
    );
    let ids: Vec<String> = by_id(&c2.api().transfers().await).into_keys().collect();

    // Consumer: every transfer it holds STARTED, no more than were requested.
    let consumer_transfers = by_id(&c2.api().transfers().await);
    let provider_transfers = provider.api().transfers().await;
    eprintln!(
        "consumer transfers: {} [{}]; provider transfers: {} [{}]",
        consumer_transfers.len(),
        histogram(consumer_transfers.values()),
        provider_transfers.len(),
        histogram(&provider_transfers)
    );
    let started_ids: BTreeSet<&String> = ids.iter().collect();
    for (id, t) in &consumer_transfers {
        if state(t) != "STARTED" {
            problems.push(format!(
                "consumer: transfer {id} is {} ({})",
                state(t),
                error(t)
            ));
        }
    }
    if ids.len() < answered.len() || ids.len() > TRANSFERS {
        problems.push(format!(
            "consumer: holds {} transfers; {} were answered and {TRANSFERS} requested",
            ids.len(),
            answered.len()
        ));
    }
    // Provider: one transfer per consumer process, STARTED.
    let mut provider_by_consumer_pid = BTreeMap::<String, Vec<&Value>>::new();
    for t in &provider_transfers {
        let pid = t["correlationId"].as_str().unwrap_or("(none)").to_owned();
        provider_by_consumer_pid.entry(pid).or_default().push(t);
    }
    for id in &ids {
        match provider_by_consumer_pid.get(id).map(Vec::as_slice) {
            None | Some([]) => {
                problems.push(format!("provider: no transfer for consumer process {id}"))
            }
            Some([one]) if state(one) == "STARTED" => {}
            Some(some) => problems.push(format!(
                "provider: transfers for consumer process {id}: {}",
                some.iter()
                    .map(|t| format!(
                        "{} {} ({})",
                        t["@id"].as_str().unwrap_or("?"),
                        state(t),
                        error(t)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    for (pid, transfers) in &provider_by_consumer_pid {
        if !started_ids.contains(pid) {
            problems.push(format!(
                "provider: {} transfer(s) for consumer process {pid}, which the consumer does not hold",
                transfers.len()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", report(&problems));

    // Every transfer brings the data, through either replica.
    let fetched = Instant::now();
    for (i, id) in ids.iter().enumerate() {
        let replica = if i % 2 == 0 { &c1 } else { &c2 };
        let data = replica
            .api()
            .get(&format!("/v3/transferprocesses/{id}/data"))
            .await;
        assert!(
            data.ok_bytes() == asset_bytes().as_slice(),
            "transfer {id} brought {} bytes through {} that differ from the {} published",
            data.ok_bytes().len(),
            replica.name,
            asset_bytes().len()
        );
    }
    eprintln!(
        "data of all {} transfers fetched in {:?}; test took {:?}",
        ids.len(),
        fetched.elapsed(),
        began.elapsed()
    );
}
