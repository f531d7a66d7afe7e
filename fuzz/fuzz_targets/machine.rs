//! Arbitrary command, transport-fact and time sequences into the machine, with the
//! invariants of the property tests (`partysocket/tests/support/model.rs`) as
//! assertions.

#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

#[path = "../../partysocket/tests/support/mod.rs"]
mod support;

use support::model::{self, Config, Op};

fn config(u: &mut Unstructured<'_>) -> Result<Config> {
    Ok(Config {
        max_messages: u.arbitrary::<Option<u8>>()?.map(|n| usize::from(n % 8)),
        max_bytes: u.arbitrary::<Option<u8>>()?.map(|n| usize::from(n % 64)),
        max_retries: u.arbitrary::<Option<u8>>()?.map(|n| u32::from(n % 6)),
        jitter: f64::from(u.int_in_range(0u8..=100)?) / 100.0,
        start_closed: u.arbitrary()?,
        heartbeat: if u.arbitrary()? {
            Some((
                u64::from(u.int_in_range(1u16..=5000)?),
                u64::from(u.int_in_range(1u16..=5000)?),
            ))
        } else {
            None
        },
        per_attempt_query: u.arbitrary()?,
    })
}

fn op(u: &mut Unstructured<'_>) -> Result<Op> {
    Ok(match u.int_in_range(0u8..=17)? {
        0 | 1 => Op::Send,
        2 => Op::SendCoalesced(u.int_in_range(0..=2)?),
        3 | 4 => Op::Open,
        5 => Op::Receive,
        6 => Op::Refuse,
        7 => Op::Timeout,
        8 => Op::ServerClose(
            u.arbitrary::<Option<u8>>()?
                .map(|n| [1000, 1001, 4000, 4001][usize::from(n % 4)]),
        ),
        9 => Op::Reject([401, 429, 500][usize::from(u.int_in_range(0u8..=2)?)]),
        10 => Op::Close,
        11 => Op::Reconnect,
        12 => Op::Advance(u64::from(u.int_in_range(0u16..=12_000)?)),
        13 => Op::Resolve(u.arbitrary()?),
        14 => Op::Pong,
        15 => Op::Update(u.int_in_range(0..=3)?),
        16 => {
            if u.arbitrary()? {
                Op::WriteBlocked
            } else {
                Op::WriteProgress
            }
        }
        _ => Op::ReadPaused(u.arbitrary()?),
    })
}

fn session(u: &mut Unstructured<'_>) -> Result<(Config, Vec<Op>)> {
    let config = config(u)?;
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < 400 {
        ops.push(op(u)?);
    }
    Ok((config, ops))
}

fuzz_target!(|data: &[u8]| {
    if let Ok((config, ops)) = session(&mut Unstructured::new(data)) {
        if let Err(broken) = model::run(&config, &ops) {
            panic!("{broken}\nconfig: {config:?}\nops: {ops:?}");
        }
    }
});
