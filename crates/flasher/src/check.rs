//! Plan checks that run before anything touches a board: every file readable, no overlaps,
//! everything inside the flash, and one chip across the plan, the build and the registration.

use std::error::Error as StdError;
use std::fs;
use std::path::{Path, PathBuf};

use espflash::flasher::{FlashData, FlashSettings, FlashSize};
use espflash::image_format::idf::IdfBootloaderFormat;
use espflash::image_format::{ImageFormat, Metadata};
use espflash::target::XtalFrequency;
use factory_core::Chip;
use sha2::{Digest, Sha256};
use tracing::warn;

use crate::chips::to_espflash_chip;
use crate::error::FlashError;
use crate::plan::{ChipClaim, ElfImage, FlashPlan, PlanContent, PlanSource};

/// Flash offsets must be multiples of the 4 KiB erase sector: writing an image erases whole
/// sectors, so an unaligned image would also erase the bytes before it in its first sector.
pub const SECTOR_SIZE: u32 = 0x1000;

/// The first byte of every ESP-IDF image (bootloader and app).
const IMAGE_MAGIC: u8 = 0xE9;

/// The caller's knowledge of the board a plan is meant for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanExpectations {
    /// The registration's target chip. Every chip the plan names must match it.
    pub target_chip: Option<Chip>,
    /// The registration's node ID, used only to name the registration in messages.
    pub registration: Option<String>,
    /// The `CONFIG_IDF_TARGET` of the project the firmware was built from, when the caller read it.
    pub idf_target: Option<Chip>,
}

/// One image with its bytes, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRegion {
    /// Flash offset in bytes.
    pub offset: u32,
    /// The image bytes as read from the file or produced by the ELF conversion. The job pads the
    /// written copy with 0xFF to a multiple of 4 bytes; that padding is not part of the region.
    pub data: Vec<u8>,
    /// The role or file name, for messages ("bootloader (bootloader/bootloader.bin)").
    pub label: String,
    /// The file the bytes came from; `None` for images produced from an ELF.
    pub path: Option<PathBuf>,
}

impl ImageRegion {
    /// Image length in bytes.
    pub fn size(&self) -> u32 {
        self.data.len() as u32
    }

    /// Returns the offset of the first byte past the image.
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + self.data.len() as u64
    }

    /// Lowercase hex SHA-256 of the image bytes (without padding), the digest the registry records.
    pub fn sha256_hex(&self) -> String {
        hex_digest(&Sha256::digest(&self.data))
    }

    /// Describes the region as messages name it: "LABEL at START..END".
    pub fn describe(&self) -> String {
        format!("{} at {:#x}..{:#x}", self.label, self.offset, self.end())
    }
}

/// An ELF read into memory, waiting for the connected chip's facts to be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoadedElf {
    pub(crate) image: ElfImage,
    pub(crate) bytes: Vec<u8>,
}

/// A plan whose files were read and checked. Regions are in offset order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedPlan {
    regions: Vec<ImageRegion>,
    elf: Option<LoadedElf>,
    chip: Option<Chip>,
    flash_size: Option<u64>,
    description: String,
}

impl CheckedPlan {
    /// Returns the images to write, in offset order. For an ELF plan these are provisional until the job
    /// has connected (the ESP32 bootloader depends on the crystal), and empty when the chip is
    /// not known before connecting.
    pub fn regions(&self) -> &[ImageRegion] {
        &self.regions
    }

    /// Returns the chip every piece of evidence in the plan agrees on, if any names one.
    pub fn chip(&self) -> Option<Chip> {
        self.chip
    }

    /// Returns the flash size the plan declares, in bytes.
    pub fn declared_flash_size(&self) -> Option<u64> {
        self.flash_size
    }

    /// Returns the plan's source, for messages.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Produces the final images for the connected board and checks that they fit its flash.
    pub(crate) fn resolve_for_board(
        &self,
        chip: Chip,
        crystal: XtalFrequency,
        flash_size: u64,
    ) -> Result<Vec<ImageRegion>, FlashError> {
        if let Some(declared) = self.flash_size
            && declared != flash_size
        {
            // The images still go out when they fit, but a bootloader header that claims more flash
            // than the board has makes the firmware misread its partitions.
            warn!(declared, detected = flash_size, "the plan's flash size differs from the board's");
        }
        let regions = match &self.elf {
            Some(elf) => convert_elf(elf, chip, crystal, self.flash_size.or(Some(flash_size)))?,
            None => self.regions.clone(),
        };
        check_fits(&regions, flash_size, "the flash size the board reports")?;
        Ok(regions)
    }
}

impl FlashPlan {
    /// Reads every file of the plan and checks it without touching a board. Each file must exist
    /// and be readable, offsets must be sector-aligned, regions must not overlap and must fit the
    /// declared flash size. The chips named by the plan's chip field, the bootloader header, the
    /// ELF metadata, `CONFIG_IDF_TARGET` and the registration must all agree.
    pub fn check(&self, expectations: &PlanExpectations) -> Result<CheckedPlan, FlashError> {
        // The plan's own declaration comes first, so a mismatch names it before derived evidence.
        let mut claims: Vec<ChipClaim> = self.declared_chip.iter().cloned().collect();
        let (regions, elf) = match &self.content {
            PlanContent::Regions(planned) => {
                let regions = planned.iter().map(load_region).collect::<Result<Vec<_>, _>>()?;
                claims.extend(bootloader_claims(&regions)?);
                (regions, None)
            }
            PlanContent::Elf(image) => {
                let (elf, claim) = load_elf(image)?;
                claims.extend(claim);
                (Vec::new(), Some(elf))
            }
        };

        let chip = agree_on_chip(&claims, expectations)?;

        let flash_size_source = match &self.source {
            PlanSource::BuildFolder { flasher_args, .. } => {
                format!("the flash size declared in {}", flasher_args.display())
            }
            _ => "the flash size declared by the plan".to_owned(),
        };

        let regions = match (&elf, chip) {
            (Some(elf), Some(chip)) => convert_elf(elf, chip, chip_default_crystal(chip), self.flash_size)?,
            _ => regions,
        };
        check_layout(&regions)?;
        if let Some(flash_size) = self.flash_size {
            check_fits(&regions, flash_size, &flash_size_source)?;
        }

        Ok(CheckedPlan { regions, elf, chip, flash_size: self.flash_size, description: self.describe() })
    }
}

fn load_region(planned: &crate::plan::PlannedRegion) -> Result<ImageRegion, FlashError> {
    let label = match &planned.role {
        Some(role) => format!("{role} ({})", planned.path.display()),
        None => planned.path.display().to_string(),
    };
    let data = fs::read(&planned.path).map_err(|error| FlashError::FileMissing {
        path: planned.path.clone(),
        role: planned.role.clone().unwrap_or_else(|| "image".to_owned()),
        detail: error.to_string(),
    })?;
    if data.is_empty() {
        return Err(FlashError::plan_invalid(
            planned.path.display().to_string(),
            "the file is empty; rebuild the firmware",
        ));
    }
    Ok(ImageRegion { offset: planned.offset, data, label, path: Some(planned.path.clone()) })
}

fn load_elf(image: &ElfImage) -> Result<(LoadedElf, Option<ChipClaim>), FlashError> {
    let bytes = fs::read(&image.path).map_err(|error| FlashError::FileMissing {
        path: image.path.clone(),
        role: "ELF".to_owned(),
        detail: error.to_string(),
    })?;
    for (path, role) in [(&image.bootloader, "bootloader"), (&image.partition_table, "partition table")] {
        if let Some(path) = path {
            fs::metadata(path).map_err(|error| FlashError::FileMissing {
                path: path.clone(),
                role: role.to_owned(),
                detail: error.to_string(),
            })?;
        }
    }

    let metadata = Metadata::from_bytes(Some(&bytes));
    let claim = match metadata.chip_name() {
        Some(name) => {
            let chip = name.parse::<Chip>().map_err(|_| {
                FlashError::plan_invalid(
                    image.path.display().to_string(),
                    format!("the ELF was built for {name}, which Node Factory does not provision"),
                )
            })?;
            Some(ChipClaim { chip, evidence: format!("the CHIP_NAME metadata of {}", image.path.display()) })
        }
        None => None,
    };
    Ok((LoadedElf { image: image.clone(), bytes }, claim))
}

/// Reads the chip ID (bytes 12-13, little-endian) of every ESP-IDF image at a bootloader offset
/// (0x0 or 0x1000) and checks that the image sits at its chip's bootloader offset.
fn bootloader_claims(regions: &[ImageRegion]) -> Result<Vec<ChipClaim>, FlashError> {
    let boot_offsets: Vec<u32> = Chip::ALL.iter().map(|chip| chip.bootloader_offset()).collect();
    let mut claims = Vec::new();

    for region in regions {
        if !boot_offsets.contains(&region.offset) || region.data.len() < 16 || region.data[0] != IMAGE_MAGIC {
            continue;
        }
        let chip_id = u16::from_le_bytes([region.data[12], region.data[13]]);
        let chip = Chip::from_image_chip_id(chip_id).ok_or_else(|| {
            FlashError::plan_invalid(
                region.label.clone(),
                format!(
                    "the bootloader header names chip ID {chip_id}, which is not an ESP32 (0), ESP32-C3 (5) or \
                     ESP32-S3 (9); rebuild the firmware for the registration's chip"
                ),
            )
        })?;
        if chip.bootloader_offset() != region.offset {
            return Err(FlashError::plan_invalid(
                region.label.clone(),
                format!(
                    "an {} bootloader is placed at {:#x}, but the {} boots from {:#x}; fix the flash offset",
                    chip.display_name(),
                    region.offset,
                    chip.display_name(),
                    chip.bootloader_offset()
                ),
            ));
        }
        claims.push(ChipClaim { chip, evidence: format!("the bootloader header of {}", region.label) });
    }
    Ok(claims)
}

/// Returns the chip all evidence agrees on. The reference is the registration's chip, else the
/// project's `CONFIG_IDF_TARGET`, else the first claim; every other source must name the same chip.
fn agree_on_chip(claims: &[ChipClaim], expectations: &PlanExpectations) -> Result<Option<Chip>, FlashError> {
    let registration_label = match &expectations.registration {
        Some(node_id) => format!("registration {node_id}"),
        None => "the registration".to_owned(),
    };
    let idf_claim = expectations
        .idf_target
        .map(|chip| ChipClaim { chip, evidence: "the project's CONFIG_IDF_TARGET".to_owned() });

    let (reference, reference_source, others): (Chip, String, Vec<&ChipClaim>) =
        match (expectations.target_chip, &idf_claim) {
            (Some(chip), _) => (chip, registration_label, idf_claim.iter().chain(claims).collect()),
            (None, Some(idf)) => {
                (idf.chip, "the project's CONFIG_IDF_TARGET".to_owned(), claims.iter().collect())
            }
            (None, None) => match claims.split_first() {
                Some((first, rest)) => (first.chip, first.evidence.clone(), rest.iter().collect()),
                None => return Ok(None),
            },
        };

    for claim in others {
        if claim.chip != reference {
            return Err(FlashError::PlanChipMismatch {
                plan_chip: claim.chip,
                evidence: claim.evidence.clone(),
                expected: reference,
                expected_source: reference_source,
            });
        }
    }
    Ok(Some(reference))
}

/// Checks sector alignment and overlaps. Regions must be sorted by offset.
fn check_layout(regions: &[ImageRegion]) -> Result<(), FlashError> {
    if regions.is_empty() {
        return Err(FlashError::plan_invalid("the plan", "it names no image to write"));
    }
    for region in regions {
        if !region.offset.is_multiple_of(SECTOR_SIZE) {
            return Err(FlashError::plan_invalid(
                region.label.clone(),
                format!(
                    "offset {:#x} is not a multiple of the 4 KiB flash sector, so writing it would also erase \
                     the bytes before it; use a sector-aligned offset",
                    region.offset
                ),
            ));
        }
    }

    let mut sorted: Vec<&ImageRegion> = regions.iter().collect();
    sorted.sort_by_key(|region| region.offset);
    for pair in sorted.windows(2) {
        if pair[0].end() > u64::from(pair[1].offset) {
            return Err(FlashError::RegionsOverlap { first: pair[0].describe(), second: pair[1].describe() });
        }
    }
    Ok(())
}

fn check_fits(regions: &[ImageRegion], flash_size: u64, source: &str) -> Result<(), FlashError> {
    match regions.iter().find(|region| region.end() > flash_size) {
        Some(region) => Err(FlashError::ImageTooLarge {
            region: region.describe(),
            end: region.end(),
            flash_size,
            flash_size_source: source.to_owned(),
        }),
        None => Ok(()),
    }
}

/// Returns the crystal to assume before connecting. Only the ESP32 ships boards with another
/// crystal (26 MHz). espflash picks the bundled bootloader by crystal, so the job converts again
/// once it has read the real one.
fn chip_default_crystal(chip: Chip) -> XtalFrequency {
    to_espflash_chip(chip).default_xtal_frequency()
}

/// Converts an ELF with espflash's ESP-IDF image format into bootloader, partition table and app.
pub(crate) fn convert_elf(
    elf: &LoadedElf,
    chip: Chip,
    crystal: XtalFrequency,
    flash_size: Option<u64>,
) -> Result<Vec<ImageRegion>, FlashError> {
    let location = elf.image.path.display().to_string();
    let espflash_size = flash_size.and_then(espflash_flash_size);
    let flash_data = FlashData::new(
        FlashSettings::new(None, espflash_size, None),
        0,
        None,
        to_espflash_chip(chip),
        crystal,
    );

    let format = IdfBootloaderFormat::new(
        &elf.bytes,
        &flash_data,
        elf.image.partition_table.as_deref(),
        elf.image.bootloader.as_deref(),
        None,
        None,
    )
    .map_err(|error| {
        FlashError::plan_invalid(
            &location,
            format!(
                "espflash could not turn the ELF into an {} image: {}",
                chip.display_name(),
                error_chain(&error)
            ),
        )
    })?;

    let labels = ["bootloader", "partition table", "app"];
    let segments = ImageFormat::from(format).flash_segments();
    let mut regions: Vec<ImageRegion> = segments
        .into_iter()
        .enumerate()
        .map(|(index, segment)| ImageRegion {
            offset: segment.addr,
            data: segment.data.into_owned(),
            label: format!(
                "{} of {}",
                labels.get(index).copied().unwrap_or("image"),
                elf_name(&elf.image.path)
            ),
            path: None,
        })
        .collect();
    regions.sort_by_key(|region| region.offset);
    Ok(regions)
}

fn elf_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn espflash_flash_size(bytes: u64) -> Option<FlashSize> {
    use FlashSize::*;
    [_256Kb, _512Kb, _1Mb, _2Mb, _4Mb, _8Mb, _16Mb, _32Mb, _64Mb, _128Mb, _256Mb]
        .into_iter()
        .find(|size| u64::from(size.size()) == bytes)
}

/// Formats an error with all its sources, outermost first, because espflash puts the useful part
/// of many errors in their source.
pub(crate) fn error_chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

pub(crate) fn hex_digest(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(offset: u32, len: usize, label: &str) -> ImageRegion {
        ImageRegion { offset, data: vec![0xAB; len], label: label.to_owned(), path: None }
    }

    fn bootloader_image(chip_id: u16) -> Vec<u8> {
        let mut data = vec![0u8; 64];
        data[0] = IMAGE_MAGIC;
        data[12..14].copy_from_slice(&chip_id.to_le_bytes());
        data
    }

    #[test]
    fn overlapping_regions_name_both() {
        let regions = [
            region(0x8000, 0x1000, "a.bin"),
            region(0x8000 + 0x1000, 0x10, "b.bin"),
            region(0x10000, 0x9000, "c.bin"),
            region(0x18000, 16, "d.bin"),
        ];
        let error = check_layout(&regions).unwrap_err();
        assert_eq!(error.code(), crate::ErrorCode::RegionsOverlap);
        let message = error.to_string();
        assert!(message.contains("c.bin at 0x10000..0x19000"), "{message}");
        assert!(message.contains("d.bin at 0x18000..0x18010"), "{message}");
    }

    #[test]
    fn adjacent_regions_do_not_overlap() {
        let regions = [region(0x0, 0x1000, "a"), region(0x1000, 0x1000, "b")];
        check_layout(&regions).unwrap();
    }

    #[test]
    fn unaligned_offset_is_rejected() {
        let error = check_layout(&[region(0x10010, 16, "app.bin")]).unwrap_err();
        assert_eq!(error.code(), crate::ErrorCode::PlanInvalid);
        assert!(error.to_string().contains("0x10010"), "{error}");
    }

    #[test]
    fn region_past_flash_end_is_too_large() {
        let regions = [region(0x10000, 0x3F_0001, "app.bin")];
        let error = check_fits(&regions, 4 * 1024 * 1024, "the board").unwrap_err();
        assert_eq!(error.code(), crate::ErrorCode::ImageTooLarge);
        assert!(error.to_string().contains("4 MB flash"), "{error}");
        check_fits(&[region(0x10000, 0x3F_0000, "app.bin")], 4 * 1024 * 1024, "the board").unwrap();
    }

    #[test]
    fn bootloader_header_gives_chip() {
        for chip in Chip::ALL {
            let regions = [ImageRegion {
                offset: chip.bootloader_offset(),
                data: bootloader_image(chip.image_chip_id()),
                label: "bootloader".into(),
                path: None,
            }];
            let claims = bootloader_claims(&regions).unwrap();
            assert_eq!(claims.len(), 1);
            assert_eq!(claims[0].chip, chip);
        }
    }

    #[test]
    fn bootloader_at_wrong_offset_is_rejected() {
        let regions = [ImageRegion {
            offset: 0x1000,
            data: bootloader_image(5),
            label: "bootloader".into(),
            path: None,
        }];
        let error = bootloader_claims(&regions).unwrap_err();
        assert!(error.to_string().contains("ESP32-C3 boots from 0x0"), "{error}");
    }

    #[test]
    fn bootloader_with_foreign_chip_id_is_rejected() {
        let regions =
            [ImageRegion { offset: 0x0, data: bootloader_image(2), label: "bootloader".into(), path: None }];
        let error = bootloader_claims(&regions).unwrap_err();
        assert!(error.to_string().contains("chip ID 2"), "{error}");
    }

    #[test]
    fn bootloader_claims_skip_raw_data() {
        let regions = [region(0x0, 64, "data.bin")];
        assert!(bootloader_claims(&regions).unwrap().is_empty());
    }

    #[test]
    fn chip_agreement_prefers_registration() {
        let claims = [ChipClaim { chip: Chip::Esp32c3, evidence: "the chip field".into() }];
        let expectations = PlanExpectations { target_chip: Some(Chip::Esp32c3), ..Default::default() };
        assert_eq!(agree_on_chip(&claims, &expectations).unwrap(), Some(Chip::Esp32c3));

        let expectations = PlanExpectations {
            target_chip: Some(Chip::Esp32s3),
            registration: Some("n1".into()),
            idf_target: None,
        };
        let error = agree_on_chip(&claims, &expectations).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the chip field says the firmware is for an ESP32-C3, but registration n1 is for an ESP32-S3; build \
             the firmware for esp32s3 or pick another registration"
        );
    }

    #[test]
    fn chip_agreement_checks_idf_target() {
        let expectations = PlanExpectations {
            target_chip: Some(Chip::Esp32),
            registration: None,
            idf_target: Some(Chip::Esp32s3),
        };
        let error = agree_on_chip(&[], &expectations).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("CONFIG_IDF_TARGET says the firmware is for an ESP32-S3"), "{message}");
        assert!(message.contains("the registration is for an ESP32"), "{message}");

        let claims = [ChipClaim { chip: Chip::Esp32c3, evidence: "the bootloader header".into() }];
        let expectations = PlanExpectations { idf_target: Some(Chip::Esp32), ..Default::default() };
        let error = agree_on_chip(&claims, &expectations).unwrap_err();
        assert!(error.to_string().contains("the project's CONFIG_IDF_TARGET is for an ESP32"), "{error}");
    }

    #[test]
    fn chip_agreement_without_expectations_compares_claims() {
        let claims = [
            ChipClaim { chip: Chip::Esp32, evidence: "the chip field".into() },
            ChipClaim { chip: Chip::Esp32, evidence: "the bootloader header".into() },
        ];
        assert_eq!(agree_on_chip(&claims, &PlanExpectations::default()).unwrap(), Some(Chip::Esp32));
        assert_eq!(agree_on_chip(&[], &PlanExpectations::default()).unwrap(), None);

        let claims = [
            ChipClaim { chip: Chip::Esp32, evidence: "the chip field".into() },
            ChipClaim { chip: Chip::Esp32s3, evidence: "the bootloader header".into() },
        ];
        assert_eq!(
            agree_on_chip(&claims, &PlanExpectations::default()).unwrap_err().code(),
            crate::ErrorCode::PlanChipMismatch
        );
    }
}
