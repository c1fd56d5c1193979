//! # layer4-net: layer4 on real networks
//!
//! This is the only crate where `unsafe` and syscalls may appear; each `unsafe`
//! block says why it is sound.
//!
//! ## Map
//! - [`tun`]: [`Tun`], a Linux TUN device (`IFF_TUN | IFF_NO_PI`, non-blocking):
//!   create or attach by name, MTU, up, the kernel's address on the link.
//! - [`device`]: [`Device`], the packet-device trait the runtime drives.
//! - [`runtime`]: [`Runtime`], the thread that drives a `layer4::Stack` from a
//!   device (read → `handle_packet`, `poll_transmit` → write, `ppoll` on the device,
//!   an eventfd and the stack's deadline), and the per-socket condition variables
//!   blocking calls wait on; [`os_seed`](runtime::os_seed).
//! - [`std_api`]: blocking [`TcpListener`], [`TcpStream`], [`UdpSocket`] with the
//!   names and signatures of `std::net` (constructors take the runtime).
//! - [`netns`]: [`unshare_thread`](netns::unshare_thread), a private network
//!   namespace for the calling thread (tests, tools).
//!
//! To come (issue 6): IFF_VNET_HDR offloads and batched I/O, `tokio_api`, the
//! std/tokio parity test, `control` (the socket under /run/layer4/ that `l4 ss` and
//! `l4 stat` read).
#![warn(missing_docs)]

pub use layer4;

pub mod control;
pub mod device;
pub mod netns;
pub mod runtime;
pub mod std_api;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod tun;

pub use control::ControlSocket;
pub use device::{DatagramDevice, Device};
pub use runtime::{Runtime, RuntimeOptions, RuntimeStats};
pub use std_api::{TcpListener, TcpStream, UdpSocket};
pub use tun::Tun;
