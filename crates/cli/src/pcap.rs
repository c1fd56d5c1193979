//! `l4 pcap`: print or check the packets of classic pcap files.
//!
//! Each packet becomes the line `tcpdump -n -S` prints for it, after a
//! `SECONDS.NANOSECONDS ` timestamp (tcpdump's `-tt --nano`) unless `-t` is given.
//! Frames that carry no IP packet are noted and skipped. `--check` verifies every
//! packet instead (every header, every checksum), prints a line for each bad one and a
//! summary, and exits with status 1 when any packet is bad.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use layer4_wire::dump::{dump, verify};
use layer4_wire::pcap::{LinkType, PcapError, PcapReader, PcapRecord};

/// Options of `l4 pcap`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 on success; 1 when --check found a bad packet; \
                        2 when a file cannot be read (missing, not a classic pcap file, \
                        pcapng, truncated)."
)]
pub struct Args {
    /// Classic pcap files to read, in order (pcapng is not read).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Do not print a timestamp on each line.
    #[arg(short = 't')]
    no_timestamp: bool,
    /// Stop after N packets (counted over all files).
    #[arg(short = 'c', value_name = "N")]
    count: Option<u64>,
    /// Print the IP header details and checksum verdicts, like `tcpdump -v`.
    #[arg(short = 'v')]
    verbose: bool,
    /// Verify every packet's headers and checksums; print the bad ones and a summary.
    #[arg(long)]
    check: bool,
}

/// What happened to the packets seen so far.
#[derive(Debug, Default)]
struct Tally {
    packets: u64,
    bad: u64,
    unchecked: u64,
}

/// Why reading stopped early.
enum Stop {
    /// The output went away (a closed pipe): stop quietly.
    Closed,
    /// Writing the output failed otherwise.
    Output(io::Error),
    /// A file could not be read.
    Input(String),
}

pub fn run(args: &Args) -> ExitCode {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut tally = Tally::default();
    let mut result = Ok(());
    for path in &args.files {
        if args.count.is_some_and(|n| tally.packets >= n) {
            break;
        }
        result = read_file(args, path, &mut out, &mut tally);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() && args.check {
        result = summary(&mut out, &tally);
    }
    let flushed = out.flush().map_err(output_error);
    match result.and(flushed) {
        Ok(()) | Err(Stop::Closed) => {}
        Err(Stop::Output(e)) => return crate::error(format_args!("writing output: {e}")),
        Err(Stop::Input(message)) => return crate::error(message),
    }
    if args.check && tally.bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn output_error(e: io::Error) -> Stop {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Stop::Closed
    } else {
        Stop::Output(e)
    }
}

fn read_file(
    args: &Args,
    path: &PathBuf,
    out: &mut impl Write,
    tally: &mut Tally,
) -> Result<(), Stop> {
    let name = path.display();
    let file = File::open(path).map_err(|e| Stop::Input(format!("{name}: {e}")))?;
    let mut reader =
        PcapReader::new(BufReader::new(file)).map_err(|e| Stop::Input(describe(&name, e)))?;
    let link = reader.link_type();
    if let LinkType::Other(value) = link {
        return Err(Stop::Input(format!(
            "{name}: link type {value} is not supported (Ethernet, raw IP, Linux cooked \
             and BSD loopback are)"
        )));
    }
    let mut line = String::new();
    while args.count.is_none_or(|n| tally.packets < n) {
        let Some(record) = reader.next_packet() else {
            break;
        };
        let record = record.map_err(|e| Stop::Input(describe(&name, e)))?;
        tally.packets += 1;
        line.clear();
        render(args, link, &record, tally, &mut line);
        out.write_all(line.as_bytes()).map_err(output_error)?;
    }
    Ok(())
}

fn describe(name: &std::path::Display<'_>, e: PcapError) -> String {
    match e {
        PcapError::Io(e) => format!("{name}: {e}"),
        e => format!("{name}: {e}"),
    }
}

/// The output for one record (nothing for a good packet under `--check`).
fn render(args: &Args, link: LinkType, record: &PcapRecord, tally: &mut Tally, line: &mut String) {
    let timestamp = |line: &mut String| {
        if !args.no_timestamp {
            let ns = record.timestamp_ns;
            let _ = write!(line, "{}.{:09} ", ns / 1_000_000_000, ns % 1_000_000_000);
        }
    };
    let Some(ip) = link.ip_payload(&record.data) else {
        if args.check {
            tally.unchecked += 1;
        } else {
            timestamp(line);
            let _ = writeln!(line, "non-IP frame, length {} (skipped)", record.orig_len);
        }
        return;
    };
    let header_len = record.data.len() - ip.len();
    let orig_len = (record.orig_len as usize).saturating_sub(header_len);
    let shown = dump(ip).with_orig_len(orig_len).verbose(args.verbose);
    if !args.check {
        timestamp(line);
        let _ = writeln!(line, "{shown}");
        return;
    }
    if record.is_truncated() {
        // The capture kept only part of the packet: its checksums cannot be checked.
        tally.unchecked += 1;
        return;
    }
    if let Err(e) = verify(ip) {
        tally.bad += 1;
        let _ = write!(line, "packet {} ", tally.packets);
        timestamp(line);
        let _ = writeln!(line, "{e}: {shown}");
    }
}

fn summary(out: &mut impl Write, tally: &Tally) -> Result<(), Stop> {
    let mut text = format!("{} packets, {} bad", tally.packets, tally.bad);
    if tally.unchecked > 0 {
        let _ = write!(
            text,
            ", {} not checked (not IP, or cut short by the capture)",
            tally.unchecked
        );
    }
    writeln!(out, "{text}").map_err(output_error)
}
