#include "PowerCutVfs.h"

#include <QByteArray>
#include <QStringList>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace imprint::test::powercut {

namespace {

constexpr std::int64_t Sector = 512;

/// A write or truncation SQLite made since the file's last sync.
struct Pending {
    std::uint64_t seq = 0; ///< order across all files
    bool truncate = false;
    sqlite3_int64 offset = 0; ///< where the write starts, or the truncated size
    std::string bytes;
};

/// One file as the process sees it (`data`) and what of it is not yet on disk.
struct Shadow {
    std::string path;
    std::string data;
    std::vector<Pending> pending;
};

struct CutFile {
    sqlite3_file base; // first: SQLite's view of the file
    sqlite3_file* real; // the default VFS's file, in the same allocation
    Shadow* shadow; // null: passed through as it is (temporary files)
};

std::mutex g_mutex;
std::map<std::string, std::unique_ptr<Shadow>> g_shadows;
sqlite3_vfs* g_os = nullptr;
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;
std::uint64_t g_seq = 0;
std::int64_t g_writes = 0;
Plan g_plan;

CutFile* cut(sqlite3_file* f)
{
    return reinterpret_cast<CutFile*>(f);
}

sqlite3_file* real(sqlite3_file* f)
{
    return cut(f)->real;
}

/// Puts one pending change on disk, `limit` bytes of it at most (a torn write).
void applyToDisk(const std::string& path, const Pending& p, std::size_t limit)
{
    const int fd = ::open(path.c_str(), O_WRONLY);
    if (fd < 0)
        return;
    if (p.truncate) {
        (void)!::ftruncate(fd, p.offset);
    } else {
        const std::size_t n = std::min(limit, p.bytes.size());
        (void)!::pwrite(fd, p.bytes.data(), n, p.offset);
    }
    ::close(fd);
}

void writeErr(const std::string& text)
{
    (void)!::write(STDERR_FILENO, text.data(), text.size());
}

std::string baseName(const std::string& path)
{
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// The cut itself: called with g_mutex held, never returns.
[[noreturn]] void cutPower(const Plan& plan)
{
    std::mt19937_64 rng(plan.seed);
    struct Item {
        Shadow* shadow;
        const Pending* op;
    };
    std::vector<Item> all;
    std::map<std::string, std::pair<std::size_t, std::size_t>> perFile; // writes, bytes
    std::size_t commits = 0; // whole transactions written to the WAL since its last sync
    for (auto& [path, shadow] : g_shadows) {
        const bool wal = path.size() > 4 && path.compare(path.size() - 4, 4, "-wal") == 0;
        for (const Pending& p : shadow->pending) {
            all.push_back({ shadow.get(), &p });
            auto& [writes, bytes] = perFile[baseName(path)];
            ++writes;
            bytes += p.bytes.size();
            // A WAL frame header (24 bytes) whose "database size after commit" is not 0
            // ends a transaction.
            if (wal && p.bytes.size() == 24 && (p.bytes[4] | p.bytes[5] | p.bytes[6] | p.bytes[7]) != 0)
                ++commits;
        }
    }
    std::sort(all.begin(), all.end(), [](const Item& a, const Item& b) { return a.op->seq < b.op->seq; });
    std::string account = "power cut at write " + std::to_string(g_writes) + " (";
    account += plan.mode == Mode::Drop ? "drop" : plan.mode == Mode::Tear ? "tear" : "scramble";
    account += "): ";
    account += std::to_string(commits) + " unsynced commits; ";
    if (all.empty())
        account += "nothing was waiting for a sync";
    for (const auto& [file, counts] : perFile)
        account += std::to_string(counts.first) + " unsynced changes (" + std::to_string(counts.second) + " bytes) in "
            + file + "; ";

    auto sectors = [](const Pending& p) {
        return static_cast<std::size_t>((static_cast<std::int64_t>(p.bytes.size()) + Sector - 1) / Sector);
    };
    if (plan.mode == Mode::Tear && !all.empty()) {
        // Everything in order, up to a last write that stops after some of its sectors.
        auto last = std::find_if(all.rbegin(), all.rend(), [](const Item& i) { return !i.op->truncate; });
        for (const Item& i : all) {
            if (last != all.rend() && i.op == last->op) {
                const std::size_t n = sectors(*i.op);
                const std::size_t kept = n == 0 ? 0 : static_cast<std::size_t>(rng() % n);
                applyToDisk(i.shadow->path, *i.op, kept * static_cast<std::size_t>(Sector));
                account += "the last write (" + std::to_string(i.op->bytes.size()) + " bytes at "
                    + std::to_string(i.op->offset) + " in " + baseName(i.shadow->path) + ") torn after "
                    + std::to_string(kept) + " of " + std::to_string(n) + " sectors";
                break;
            }
            applyToDisk(i.shadow->path, *i.op, i.op->bytes.size());
        }
    } else if (plan.mode == Mode::Scramble) {
        // Each change on its own: written, lost, or (a write) only some of its sectors.
        std::shuffle(all.begin(), all.end(), rng);
        std::size_t written = 0, lost = 0, torn = 0;
        for (const Item& i : all) {
            const auto fate = rng() % 3;
            if (fate == 0) {
                ++lost;
                continue;
            }
            if (fate == 1 || i.op->truncate) {
                ++written;
                applyToDisk(i.shadow->path, *i.op, i.op->bytes.size());
                continue;
            }
            ++torn;
            for (std::size_t at = 0; at < i.op->bytes.size(); at += static_cast<std::size_t>(Sector)) {
                if (rng() % 2 != 0)
                    continue;
                Pending part = *i.op;
                part.offset += static_cast<sqlite3_int64>(at);
                part.bytes = i.op->bytes.substr(at, static_cast<std::size_t>(Sector));
                applyToDisk(i.shadow->path, part, part.bytes.size());
            }
        }
        account += std::to_string(written) + " written, " + std::to_string(lost) + " lost, " + std::to_string(torn)
            + " torn";
    }
    writeErr(account + "\n");
    ::kill(::getpid(), SIGKILL);
    for (;;)
        ::pause();
}

int xClose(sqlite3_file* f)
{
    sqlite3_file* r = real(f);
    return r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
}

int xRead(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset)
{
    Shadow* s = cut(f)->shadow;
    if (!s)
        return real(f)->pMethods->xRead(real(f), buffer, amount, offset);
    std::lock_guard lock(g_mutex);
    auto* out = static_cast<char*>(buffer);
    const auto size = static_cast<sqlite3_int64>(s->data.size());
    const sqlite3_int64 have = std::clamp<sqlite3_int64>(size - offset, 0, amount);
    if (have > 0)
        std::memcpy(out, s->data.data() + offset, static_cast<std::size_t>(have));
    if (have < amount) {
        std::memset(out + have, 0, static_cast<std::size_t>(amount - have));
        return SQLITE_IOERR_SHORT_READ;
    }
    return SQLITE_OK;
}

int xWrite(sqlite3_file* f, const void* buffer, int amount, sqlite3_int64 offset)
{
    Shadow* s = cut(f)->shadow;
    if (!s)
        return real(f)->pMethods->xWrite(real(f), buffer, amount, offset);
    std::lock_guard lock(g_mutex);
    const auto end = static_cast<std::size_t>(offset + amount);
    if (s->data.size() < end)
        s->data.resize(end, '\0');
    std::memcpy(s->data.data() + offset, buffer, static_cast<std::size_t>(amount));
    s->pending.push_back(
        { ++g_seq, false, offset, std::string(static_cast<const char*>(buffer), static_cast<std::size_t>(amount)) });
    if (++g_writes == g_plan.afterWrites)
        cutPower(g_plan);
    return SQLITE_OK;
}

int xTruncate(sqlite3_file* f, sqlite3_int64 size)
{
    Shadow* s = cut(f)->shadow;
    if (!s)
        return real(f)->pMethods->xTruncate(real(f), size);
    std::lock_guard lock(g_mutex);
    s->data.resize(static_cast<std::size_t>(size), '\0');
    s->pending.push_back({ ++g_seq, true, size, {} });
    return SQLITE_OK;
}

int xSync(sqlite3_file* f, int flags)
{
    Shadow* s = cut(f)->shadow;
    if (!s)
        return real(f)->pMethods->xSync(real(f), flags);
    // Durable from here on. The disk under the test never loses power, so no fsync.
    std::lock_guard lock(g_mutex);
    for (const Pending& p : s->pending)
        applyToDisk(s->path, p, p.bytes.size());
    s->pending.clear();
    return SQLITE_OK;
}

int xFileSize(sqlite3_file* f, sqlite3_int64* size)
{
    Shadow* s = cut(f)->shadow;
    if (!s)
        return real(f)->pMethods->xFileSize(real(f), size);
    std::lock_guard lock(g_mutex);
    *size = static_cast<sqlite3_int64>(s->data.size());
    return SQLITE_OK;
}

// Locks, file controls and the WAL index are the real file's.
int xLock(sqlite3_file* f, int level)
{
    return real(f)->pMethods->xLock(real(f), level);
}
int xUnlock(sqlite3_file* f, int level)
{
    return real(f)->pMethods->xUnlock(real(f), level);
}
int xCheckReservedLock(sqlite3_file* f, int* out)
{
    return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int xFileControl(sqlite3_file* f, int op, void* arg)
{
    return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int xSectorSize(sqlite3_file* f)
{
    return real(f)->pMethods->xSectorSize(real(f));
}
int xDeviceCharacteristics(sqlite3_file* f)
{
    return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int xShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out)
{
    return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
}
int xShmLock(sqlite3_file* f, int offset, int n, int flags)
{
    return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void xShmBarrier(sqlite3_file* f)
{
    real(f)->pMethods->xShmBarrier(real(f));
}
int xShmUnmap(sqlite3_file* f, int deleteFlag)
{
    return real(f)->pMethods->xShmUnmap(real(f), deleteFlag);
}
// No memory-mapped reads: every read goes through xRead, and so through the shadow.
int xFetch(sqlite3_file*, sqlite3_int64, int, void** out)
{
    *out = nullptr;
    return SQLITE_OK;
}
int xUnfetch(sqlite3_file*, sqlite3_int64, void*)
{
    return SQLITE_OK;
}

Shadow* shadowOf(const std::string& path, sqlite3_file* r)
{
    auto& slot = g_shadows[path];
    if (!slot) {
        // First open in this process: the page cache starts as the disk is.
        slot = std::make_unique<Shadow>();
        slot->path = path;
        sqlite3_int64 size = 0;
        if (r->pMethods->xFileSize(r, &size) == SQLITE_OK && size > 0) {
            slot->data.resize(static_cast<std::size_t>(size));
            if (r->pMethods->xRead(r, slot->data.data(), static_cast<int>(size), 0) != SQLITE_OK)
                slot->data.clear();
        }
    }
    return slot.get();
}

int xOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* outFlags)
{
    CutFile* c = cut(f);
    c->base.pMethods = nullptr;
    c->real = reinterpret_cast<sqlite3_file*>(c + 1);
    c->shadow = nullptr;
    const int rc = g_os->xOpen(g_os, name, c->real, flags, outFlags);
    if (rc != SQLITE_OK)
        return rc;
    if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0) {
        std::lock_guard lock(g_mutex);
        c->shadow = shadowOf(name, c->real);
    }
    c->base.pMethods = &g_methods;
    return SQLITE_OK;
}

int xDelete(sqlite3_vfs*, const char* name, int syncDir)
{
    {
        std::lock_guard lock(g_mutex);
        g_shadows.erase(name);
    }
    return g_os->xDelete(g_os, name, syncDir);
}

} // namespace

std::optional<Plan> planFromEnvironment(QString* error)
{
    const QByteArray spec = qgetenv("IMPRINT_POWER_CUT");
    if (spec.isEmpty())
        return std::nullopt;
    Plan plan;
    for (const QString& part : QString::fromLatin1(spec).split(u',', Qt::SkipEmptyParts)) {
        const QString key = part.section(u'=', 0, 0).trimmed();
        const QString value = part.section(u'=', 1).trimmed();
        bool ok = true;
        if (key == QLatin1String("after-ms"))
            plan.afterMs = value.toLongLong(&ok);
        else if (key == QLatin1String("after-writes"))
            plan.afterWrites = value.toLongLong(&ok);
        else if (key == QLatin1String("seed"))
            plan.seed = value.toULongLong(&ok);
        else if (key == QLatin1String("mode") && value == QLatin1String("drop"))
            plan.mode = Mode::Drop;
        else if (key == QLatin1String("mode") && value == QLatin1String("tear"))
            plan.mode = Mode::Tear;
        else if (key == QLatin1String("mode") && value == QLatin1String("scramble"))
            plan.mode = Mode::Scramble;
        else
            ok = false;
        if (!ok) {
            if (error)
                *error = QStringLiteral("IMPRINT_POWER_CUT: cannot read \"%1\"").arg(part);
            return std::nullopt;
        }
    }
    return plan;
}

bool install(const Plan& plan)
{
    g_os = sqlite3_vfs_find(nullptr);
    if (!g_os)
        return false;
    g_vfs = *g_os;
    g_vfs.zName = "imprint-power-cut";
    g_vfs.szOsFile = static_cast<int>(sizeof(CutFile)) + g_os->szOsFile;
    g_vfs.xOpen = xOpen;
    g_vfs.xDelete = xDelete;
    g_vfs.pNext = nullptr;
    g_methods = {};
    g_methods.iVersion = 3;
    g_methods.xClose = xClose;
    g_methods.xRead = xRead;
    g_methods.xWrite = xWrite;
    g_methods.xTruncate = xTruncate;
    g_methods.xSync = xSync;
    g_methods.xFileSize = xFileSize;
    g_methods.xLock = xLock;
    g_methods.xUnlock = xUnlock;
    g_methods.xCheckReservedLock = xCheckReservedLock;
    g_methods.xFileControl = xFileControl;
    g_methods.xSectorSize = xSectorSize;
    g_methods.xDeviceCharacteristics = xDeviceCharacteristics;
    g_methods.xShmMap = xShmMap;
    g_methods.xShmLock = xShmLock;
    g_methods.xShmBarrier = xShmBarrier;
    g_methods.xShmUnmap = xShmUnmap;
    g_methods.xFetch = xFetch;
    g_methods.xUnfetch = xUnfetch;
    g_plan = plan;
    if (sqlite3_vfs_register(&g_vfs, 1) != SQLITE_OK)
        return false;
    if (plan.afterMs > 0)
        std::thread([plan] {
            std::this_thread::sleep_for(std::chrono::milliseconds(plan.afterMs));
            std::unique_lock lock(g_mutex); // no write is half-way into the shadow from here on
            cutPower(plan);
        }).detach();
    std::atexit([] {
        std::lock_guard lock(g_mutex);
        writeErr("no power cut: " + std::to_string(g_writes) + " writes to the store\n");
    });
    return true;
}

} // namespace imprint::test::powercut
