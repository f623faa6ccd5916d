//! The base both screens stand on, the agent console and the supervisor: terminal and signal
//! setup ([`terminal`]), the one key table ([`keys`]) and the key hints drawn from it ([`hints`]),
//! the column fitting ([`columns`]), shared widgets and styles ([`widgets`]), time formatters
//! ([`format`]) and the statistics panes both draw ([`stats`]). Layers point one way: the screens
//! import this room; it imports neither of them (only `domain` and `store` types).

pub mod columns;
pub mod format;
pub mod hints;
pub mod keys;
pub mod stats;
pub mod terminal;
pub mod widgets;
