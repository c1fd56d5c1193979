//! # layer4-net: layer4 on real networks
//!
//! Skeleton. The real-network issue fills it with:
//! - `tun`: a Linux TUN device (IFF_TUN | IFF_NO_PI, optional IFF_VNET_HDR offloads);
//! - `runtime`: the event loop that drives a `Stack` from a device on its own thread;
//! - `std_api` / `tokio_api`: `TcpListener`, `TcpStream`, `UdpSocket` with the names and
//!   signatures of `std::net` and `tokio::net`;
//! - `control`: the control socket under /run/layer4/ that `l4 ss` and `l4 stat` read.
//!
//! This is the only crate where `unsafe` and syscalls may appear.
#![warn(missing_docs)]

pub use layer4;
