//! What the integration tests share.

use partysocket_ffi::PartySocketOptions;

/// Options for the mock's echo party in `room`, with the core's defaults.
pub(crate) fn options(host: String, room: &str) -> PartySocketOptions {
    PartySocketOptions {
        host,
        url: None,
        room: Some(room.to_owned()),
        party: "echo".to_owned(),
        prefix: "parties".to_owned(),
        base_path: None,
        path: None,
        protocol: None,
        protocols: Vec::new(),
        query: Default::default(),
        id: None,
        headers: Default::default(),
        start_closed: false,
        disable_name_validation: false,
        min_reconnection_delay_ms: 3000,
        max_reconnection_delay_ms: 10_000,
        reconnection_delay_grow_factor: 1.3,
        jitter: 0.0,
        min_uptime_ms: 5000,
        connection_timeout_ms: 4000,
        close_timeout_ms: 1000,
        write_timeout_ms: None,
        max_retries: None,
        max_enqueued_messages: None,
        max_enqueued_bytes: None,
        drop_policy: None,
        heartbeat: None,
        event_capacity: 1024,
        max_message_size: None,
        failure_policy: None,
        root_certificates_pem: Vec::new(),
        platform_roots: false,
    }
}
