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

static COMMAND: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Records the call that stands for this process's command line (a Python call, say), for
/// [`command_line`] to return instead.
pub fn set_command_line(command: String) {
    *COMMAND.lock().unwrap_or_else(|e| e.into_inner()) = Some(command);
}

/// The command line of this process as a user would type it (`laligan ...`, arguments quoted where
/// a shell needs it), or what [`set_command_line`] recorded.
pub fn command_line() -> String {
    if let Some(c) = COMMAND.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return c;
    }
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
