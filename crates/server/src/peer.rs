/// The engine's `Peer` over HTTP.
#[derive(Clone)]
pub struct HttpPeer;
