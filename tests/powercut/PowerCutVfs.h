#pragma once

// A SQLite VFS of the tests' own that models a power cut. It keeps what SQLite wrote but
// did not sync apart from the file on disk (as an operating system's page cache does): the
// file on disk holds only what a sync made durable, while SQLite reads what it wrote. At a
// chosen moment it cuts the power: the unsynced writes are dropped, or written in order up
// to a last one that is torn, or each written, dropped or torn at random (as SQLite's own
// crash tests do), and the process dies at once (SIGKILL). What is then on disk is what a
// machine would find after the power came back.
//
// Only the store's database and write-ahead log are held apart; SQLite's shared memory
// (the WAL index) is passed through: SQLite rebuilds it from the WAL when the first
// connection after the cut opens the store.

#include <QString>

#include <cstdint>
#include <optional>

namespace imprint::test::powercut {

enum class Mode {
    Drop, ///< nothing unsynced reaches the disk
    Tear, ///< every unsynced write in order, the last one only in part (whole 512-byte sectors)
    Scramble, ///< each unsynced write reaches the disk, or not, or in part, in any order
};

struct Plan {
    /// The cut comes at the store's Nth write (that write is the last one SQLite makes),
    /// or after this many milliseconds, whichever is first; 0: never.
    std::int64_t afterWrites = 0;
    std::int64_t afterMs = 0;
    Mode mode = Mode::Drop;
    std::uint64_t seed = 1;
};

/// The plan in IMPRINT_POWER_CUT ("after-writes=N,after-ms=T,mode=drop|tear|scramble,seed=S"),
/// if set; an error text when it does not parse. A process that ends with no cut says how
/// many writes it made ("no power cut: N writes to the store"), for choosing N.
[[nodiscard]] std::optional<Plan> planFromEnvironment(QString* error);

/// Makes the VFS SQLite's default for this process and arms the cut. Call before the
/// store is opened. The cut's account ("power cut: ...") goes to standard error.
[[nodiscard]] bool install(const Plan& plan);

} // namespace imprint::test::powercut
