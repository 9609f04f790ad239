//! Progress bars on stderr for flash jobs.

use std::time::Duration;

use flasher::FlashEvent;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Draws one bar per region from a job's events. Draws nothing when stderr is not a terminal,
/// and prints the milestones as lines instead.
pub struct FlashProgress {
    bars: MultiProgress,
    current: Option<ProgressBar>,
    spinner: Option<ProgressBar>,
}

impl FlashProgress {
    pub fn new() -> FlashProgress {
        FlashProgress {
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            current: None,
            spinner: None,
        }
    }

    pub fn show(&mut self, event: &FlashEvent) {
        match event {
            FlashEvent::Connecting { port } => self.start_spinner(format!("connecting to {port}")),
            FlashEvent::Connected { chip, revision, mac, flash_size } => {
                self.stop_spinner();
                self.line(format!(
                    "connected: {} {} MAC {mac}, {} MB flash",
                    chip.display_name(),
                    revision.as_deref().unwrap_or(""),
                    flash_size / (1024 * 1024)
                ));
            }
            FlashEvent::Erasing => self.start_spinner("erasing the whole flash".to_owned()),
            FlashEvent::Erased => {
                self.stop_spinner();
                self.line("erased the whole flash".to_owned());
            }
            FlashEvent::RegionStarted { offset, size, name, .. } => {
                let bar = self.bars.add(ProgressBar::new(u64::from(*size)));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} {msg:>10} [{bar:30}] {bytes:>9}/{total_bytes:<9} {bytes_per_sec:>11} {eta:>4} left",
                    )
                    .expect("the template is valid")
                    .progress_chars("=> "),
                );
                bar.set_prefix(format!("{offset:#08x} {name:<20}"));
                bar.set_message("writing");
                self.current = Some(bar);
            }
            FlashEvent::Written { bytes, .. } => {
                if let Some(bar) = &self.current {
                    bar.set_position(u64::from(*bytes));
                }
            }
            FlashEvent::RegionSkipped { offset, .. } => {
                self.line(format!("{offset:#08x} unchanged, skipped"))
            }
            FlashEvent::Verifying { .. } => {
                if let Some(bar) = &self.current {
                    bar.set_message("verifying");
                }
            }
            FlashEvent::Verified { .. } => {}
            FlashEvent::RegionFinished { .. } => {
                if let Some(bar) = self.current.take() {
                    bar.finish_with_message("done");
                }
            }
            FlashEvent::Recorded => self.line("recorded in the registry".to_owned()),
            FlashEvent::Failed { code } => {
                self.stop_spinner();
                if let Some(bar) = self.current.take() {
                    bar.abandon_with_message("failed");
                }
                self.line(format!("failed: {}", code.as_str()));
            }
        }
    }

    pub fn finish(&mut self) {
        self.stop_spinner();
        if let Some(bar) = self.current.take() {
            bar.abandon();
        }
    }

    fn start_spinner(&mut self, message: String) {
        self.stop_spinner();
        let spinner = self.bars.add(ProgressBar::new_spinner());
        spinner.set_message(message);
        spinner.enable_steady_tick(Duration::from_millis(120));
        self.spinner = Some(spinner);
    }

    fn stop_spinner(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    fn line(&self, text: String) {
        if self.bars.is_hidden() {
            eprintln!("{text}");
        } else {
            let _ = self.bars.println(text);
        }
    }
}
