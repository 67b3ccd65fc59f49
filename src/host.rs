//! Where a result came from, for records: the machine and the command line.

/// The machine in words, for records: its core count and processor model (Linux), e.g.
/// `2 cores, AMD EPYC 7B13`.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("{cores} cores, {cpu}")
}

/// The command line of this process as a user would type it (`laligan ...`, arguments quoted where
/// a shell needs it).
pub fn command_line() -> String {
    let command: Vec<String> = std::env::args()
        .enumerate()
        .map(|(i, a)| match i {
            0 => "laligan".to_string(),
            _ if a.contains(|c: char| c.is_whitespace() || "'\"$`\\*?;&|<>()".contains(c)) => {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
            _ => a,
        })
        .collect();
    command.join(" ")
}
