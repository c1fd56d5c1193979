//! Two runtimes joined by a `DatagramDevice` pair: no TUN, no namespace, no root.
//! The no-root test files share it; each takes its own /24 and seeds.

// Each test file uses some of these.
#![allow(dead_code)]

use layer4::ip::cidr::IpCidr;
use layer4::{Config, Stack};
use layer4_net::{ControlSocket, DatagramDevice, Runtime, RuntimeOptions};

/// Runtimes at 10.9.`subnet`.1/24 (seed `seed`) and 10.9.`subnet`.2/24 (seed
/// `seed + 1`), without control sockets.
pub fn pair(subnet: u8, seed: u64) -> (Runtime, Runtime) {
    lossy_pair(subnet, seed, 0)
}

/// [`pair`], the first runtime losing every `every`-th packet it sends (`0`:
/// none).
pub fn lossy_pair(subnet: u8, seed: u64, every: u64) -> (Runtime, Runtime) {
    pair_with(subnet, seed, every, |c| c)
}

/// [`pair`], each runtime with a default route of either family through the
/// other (on-link): the first reaches any address through the second.
pub fn routed_pair(subnet: u8, seed: u64) -> (Runtime, Runtime) {
    use layer4::ip::route::Route;
    pair_with(subnet, seed, 0, |mut c| {
        c.routes
            .push(Route::new("0.0.0.0/0".parse().unwrap(), None));
        c.routes.push(Route::new("::/0".parse().unwrap(), None));
        c
    })
}

fn pair_with(
    subnet: u8,
    seed: u64,
    every: u64,
    edit: impl Fn(Config) -> Config,
) -> (Runtime, Runtime) {
    let (da, db) = DatagramDevice::pair().unwrap();
    let rt = |host: u8, seed, dev| {
        let cidr: IpCidr = format!("10.9.{subnet}.{host}/24").parse().unwrap();
        let stack = Stack::new(edit(Config::with_address(cidr).seed(seed))).unwrap();
        let options = RuntimeOptions::default().control(ControlSocket::Off);
        Runtime::with_options(stack, dev, options).unwrap()
    };
    (rt(1, seed, da.dropping_every(every)), rt(2, seed + 1, db))
}
