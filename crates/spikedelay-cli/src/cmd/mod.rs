//! One file per subcommand.

pub mod bench;
pub mod eval;
pub mod train;
