//! One file per subcommand.

pub mod bench;
pub mod cochlea;
pub mod data;
pub mod eval;
pub mod export;
pub mod plot;
pub mod report;
pub mod stream;
pub mod sweep;
pub mod train;
