#include "device/UsbTransport.h"

#include <QLoggingCategory>
#include <QMetaObject>
#include <QThreadPool>

#include <libusb.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

Q_LOGGING_CATEGORY(IMPRINT_USB, "imprint.usb", QtInfoMsg)

namespace imprint::core {

namespace {

constexpr int InBufferSize = 16 * 1024;
constexpr unsigned int WriteTimeoutMs = 5000;

QString usbErrorName(int code)
{
    return QString::fromLatin1(libusb_error_name(code));
}

/// One libusb context for the process, and the thread that handles its events. Made on
/// first use and kept until the process ends: transfers may complete while it shuts down.
class UsbEvents {
public:
    static Result<libusb_context*> context()
    {
        static UsbEvents* events = new UsbEvents; // never destroyed, see above
        if (!events->m_context)
            return fail(ErrorCode::Io, QStringLiteral("USB is not available on this system."),
                QStringLiteral("libusb_init returned %1").arg(usbErrorName(events->m_initResult)));
        return events->m_context;
    }

private:
    UsbEvents()
    {
        m_initResult = libusb_init(&m_context);
        if (m_initResult != 0) {
            m_context = nullptr;
            return;
        }
        // Under umockdev the device node never blocks poll(), so libusb would spin: rest a
        // little between rounds there (a real kernel wakes the thread itself).
        const bool emulated = qEnvironmentVariableIsSet("UMOCKDEV_DIR");
        std::thread([this, emulated] {
            while (true) {
                timeval tv { 0, 100000 };
                libusb_handle_events_timeout_completed(m_context, &tv, nullptr);
                closeQueued();
                if (emulated)
                    std::this_thread::sleep_for(std::chrono::microseconds(500));
            }
        }).detach();
    }

public:
    /// Releases and closes a device handle on the event thread, between rounds of event
    /// handling: libusb_close from inside a transfer callback would wait for itself.
    static void closeLater(libusb_device_handle* handle, int interfaceNumber)
    {
        auto ctx = context(); // makes sure the thread runs
        std::lock_guard lock(pending().mutex);
        pending().handles.emplace_back(handle, interfaceNumber);
        if (ctx)
            libusb_interrupt_event_handler(*ctx);
    }

private:
    struct Pending {
        std::mutex mutex;
        std::vector<std::pair<libusb_device_handle*, int>> handles;
    };
    static Pending& pending()
    {
        static Pending* p = new Pending;
        return *p;
    }
    static void closeQueued()
    {
        std::vector<std::pair<libusb_device_handle*, int>> handles;
        {
            std::lock_guard lock(pending().mutex);
            handles.swap(pending().handles);
        }
        for (auto [handle, interfaceNumber] : handles) {
            libusb_release_interface(handle, interfaceNumber);
            libusb_close(handle);
        }
    }

    libusb_context* m_context = nullptr;
    int m_initResult = 0;
};

} // namespace

Result<UsbAddress> UsbAddress::parse(const QString& text)
{
    auto bad = [&text] {
        return fail(ErrorCode::BadInput,
            QStringLiteral("\"%1\" is not a USB device address; write usb:VVVV:PPPP or usb:VVVV:PPPP:SERIAL "
                           "(vendor and product id in hex).")
                .arg(text));
    };
    const QStringList parts = text.split(QLatin1Char(':'));
    if (parts.size() < 3 || parts.size() > 4 || parts[0] != QLatin1String("usb"))
        return bad();
    bool okV = false, okP = false;
    const uint vid = parts[1].toUInt(&okV, 16);
    const uint pid = parts[2].toUInt(&okP, 16);
    if (!okV || !okP || vid > 0xffff || pid > 0xffff || parts[1].size() != 4 || parts[2].size() != 4)
        return bad();
    UsbAddress a;
    a.vendorId = static_cast<quint16>(vid);
    a.productId = static_cast<quint16>(pid);
    a.serial = parts.value(3);
    return a;
}

QString UsbAddress::toString() const
{
    QString s
        = QStringLiteral("usb:%1:%2").arg(vendorId, 4, 16, QLatin1Char('0')).arg(productId, 4, 16, QLatin1Char('0'));
    if (!serial.isEmpty())
        s += QLatin1Char(':') + serial;
    return s;
}

/// The open device and its transfers. Transfer callbacks run on the libusb event thread;
/// they reach the transport only through queued calls, and only while it exists.
struct UsbTransport::Link {
    std::mutex mutex;
    QObject* receiver = nullptr; ///< the transport, until it is destroyed
    libusb_device_handle* handle = nullptr;
    int interfaceNumber = -1;
    unsigned char endpointIn = 0;
    unsigned char endpointOut = 0;
    libusb_transfer* in = nullptr;
    QByteArray inBuffer;
    int inFlight = 0;
    bool closing = false;
    std::shared_ptr<Link> self; ///< kept while transfers are in flight

    ~Link()
    {
        if (in)
            libusb_free_transfer(in);
    }

    /// Delivers `f` on the transport's thread, if the transport still exists. Mutex held.
    template <typename F> void post(F f)
    {
        if (receiver)
            QMetaObject::invokeMethod(receiver, std::move(f), Qt::QueuedConnection);
    }

    /// Releases the device once nothing is in flight. Mutex held.
    void releaseIfIdle();
};

void UsbTransport::Link::releaseIfIdle()
{
    if (!closing || inFlight > 0 || !handle)
        return;
    UsbEvents::closeLater(handle, interfaceNumber);
    handle = nullptr;
}

namespace {

Error disconnectedError(const UsbAddress& address)
{
    return Error { ErrorCode::Disconnected,
        QStringLiteral("The USB device %1 is gone (unplugged or switched off).").arg(address.toString()), {}, {} };
}

void LIBUSB_CALL onIn(libusb_transfer* transfer);

/// Tells the transport a transfer ended badly: the device went away (NO_DEVICE) or the
/// transfer failed. Mutex held.
void reportFailure(UsbTransport::Link& link, int status, bool reading)
{
    link.post([r = link.receiver, status, reading] {
        auto* t = static_cast<UsbTransport*>(r);
        const bool gone = status == LIBUSB_TRANSFER_NO_DEVICE;
        emit t->failed(Error { gone ? ErrorCode::Disconnected : ErrorCode::Io,
            gone ? QStringLiteral("The USB device %1 is gone (unplugged or switched off).").arg(t->address())
                 : QStringLiteral("%1 the USB device %2 failed.")
                       .arg(reading ? QStringLiteral("Reading from") : QStringLiteral("Writing to"), t->address()),
            QStringLiteral("bulk %1 transfer status %2")
                .arg(reading ? QStringLiteral("IN") : QStringLiteral("OUT"))
                .arg(status),
            {} });
    });
}

void submitIn(UsbTransport::Link& link)
{
    libusb_fill_bulk_transfer(link.in, link.handle, link.endpointIn,
        reinterpret_cast<unsigned char*>(link.inBuffer.data()), InBufferSize, onIn, &link, 0);
    if (libusb_submit_transfer(link.in) == 0) {
        ++link.inFlight;
        return;
    }
    reportFailure(link, LIBUSB_TRANSFER_NO_DEVICE, true); // it stopped taking transfers: gone
}

void LIBUSB_CALL onIn(libusb_transfer* transfer)
{
    auto* link = static_cast<UsbTransport::Link*>(transfer->user_data);
    std::shared_ptr<UsbTransport::Link> keep; // released after the mutex, possibly the last reference
    {
        std::lock_guard lock(link->mutex);
        --link->inFlight;
        const int status = transfer->status;
        if (status == LIBUSB_TRANSFER_COMPLETED && !link->closing) {
            QByteArray bytes(reinterpret_cast<const char*>(transfer->buffer), transfer->actual_length);
            auto* r = link->receiver;
            if (!bytes.isEmpty())
                link->post([r, bytes] { emit static_cast<UsbTransport*>(r)->bytesReceived(bytes); });
            submitIn(*link);
        } else if (status != LIBUSB_TRANSFER_CANCELLED && status != LIBUSB_TRANSFER_COMPLETED) {
            reportFailure(*link, status, true);
        }
        if (link->inFlight == 0 && link->closing) {
            link->releaseIfIdle();
            keep = std::move(link->self);
        }
    }
}

struct OutTransfer {
    std::shared_ptr<UsbTransport::Link> link;
    QByteArray bytes;
};

void LIBUSB_CALL onOut(libusb_transfer* transfer)
{
    auto* out = static_cast<OutTransfer*>(transfer->user_data);
    std::shared_ptr<UsbTransport::Link> link = std::move(out->link);
    const int status = transfer->status;
    delete out;
    libusb_free_transfer(transfer);
    std::lock_guard lock(link->mutex);
    --link->inFlight;
    if (status != LIBUSB_TRANSFER_COMPLETED && !link->closing)
        reportFailure(*link, status, false);
    link->releaseIfIdle();
    if (link->closing && link->inFlight == 0)
        link->self.reset(); // `link` keeps it alive until this returns
}

} // namespace

/// Whether the transport still exists, for an open finishing on another thread.
struct UsbTransport::Gate {
    std::mutex mutex;
    UsbTransport* target = nullptr;
    std::atomic<quint64> generation { 0 }; ///< which open() is wanted; others give up
};

namespace {

/// A device opened and claimed that no transport has taken yet: released when dropped.
struct OpenedDevice {
    std::shared_ptr<UsbTransport::Link> link;
    ~OpenedDevice()
    {
        if (!link)
            return;
        std::lock_guard lock(link->mutex);
        link->closing = true;
        link->releaseIfIdle();
    }
};

/// Finds the device, opens it, reads its serial if asked to match one, and claims its
/// vendor interface: every call that may block (libusb's control timeout is 1 s).
Result<std::shared_ptr<UsbTransport::Link>> connectDevice(const UsbAddress& address)
{
    auto ctx = UsbEvents::context();
    if (!ctx)
        return std::unexpected(ctx.error());
    libusb_device** list = nullptr;
    const ssize_t count = libusb_get_device_list(*ctx, &list);
    libusb_device_handle* handle = nullptr;
    QString problem;
    for (ssize_t i = 0; i < count && !handle; ++i) {
        libusb_device_descriptor desc {};
        if (libusb_get_device_descriptor(list[i], &desc) != 0 || desc.idVendor != address.vendorId
            || desc.idProduct != address.productId)
            continue;
        libusb_device_handle* h = nullptr;
        if (const int rc = libusb_open(list[i], &h); rc != 0) {
            problem = rc == LIBUSB_ERROR_ACCESS
                ? QStringLiteral("no permission to open it: install packaging/70-imprint-devices.rules and join the "
                                 "plugdev group")
                : usbErrorName(rc);
            continue;
        }
        if (!address.serial.isEmpty()) {
            unsigned char serial[256] = {};
            const int n = desc.iSerialNumber == 0
                ? 0
                : libusb_get_string_descriptor_ascii(h, desc.iSerialNumber, serial, sizeof serial);
            if (n <= 0 || QString::fromLatin1(reinterpret_cast<const char*>(serial), n) != address.serial) {
                libusb_close(h);
                continue;
            }
        }
        handle = h;
    }
    libusb_free_device_list(list, 1);
    if (!handle)
        return std::unexpected(Error { ErrorCode::Disconnected,
            problem.isEmpty()
                ? QStringLiteral("No USB device %1 is connected.").arg(address.toString())
                : QStringLiteral("The USB device %1 cannot be used: %2.").arg(address.toString(), problem),
            {}, {} });

    // The vendor interface (class 0xFF) with a bulk IN and a bulk OUT endpoint.
    auto link = std::make_shared<UsbTransport::Link>();
    link->handle = handle;
    libusb_config_descriptor* config = nullptr;
    if (libusb_get_active_config_descriptor(libusb_get_device(handle), &config) == 0) {
        for (int i = 0; i < config->bNumInterfaces && link->interfaceNumber < 0; ++i) {
            for (int a = 0; a < config->interface[i].num_altsetting; ++a) {
                const libusb_interface_descriptor& alt = config->interface[i].altsetting[a];
                if (alt.bInterfaceClass != LIBUSB_CLASS_VENDOR_SPEC)
                    continue;
                unsigned char in = 0, out = 0;
                for (int e = 0; e < alt.bNumEndpoints; ++e) {
                    const libusb_endpoint_descriptor& ep = alt.endpoint[e];
                    if ((ep.bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) != LIBUSB_TRANSFER_TYPE_BULK)
                        continue;
                    ((ep.bEndpointAddress & LIBUSB_ENDPOINT_IN) ? in : out) = ep.bEndpointAddress;
                }
                if (in && out) {
                    link->interfaceNumber = alt.bInterfaceNumber;
                    link->endpointIn = in;
                    link->endpointOut = out;
                    break;
                }
            }
        }
        libusb_free_config_descriptor(config);
    }
    if (link->interfaceNumber < 0) {
        libusb_close(handle);
        return std::unexpected(Error { ErrorCode::Protocol,
            QStringLiteral("The USB device %1 has no vendor interface with a bulk IN and a bulk OUT endpoint.")
                .arg(address.toString()),
            {}, {} });
    }
    if (const int rc = libusb_claim_interface(handle, link->interfaceNumber); rc != 0) {
        libusb_close(handle);
        return std::unexpected(Error { ErrorCode::Io,
            QStringLiteral("The USB device %1 is in use by another program.").arg(address.toString()),
            QStringLiteral("libusb_claim_interface returned %1").arg(usbErrorName(rc)), {} });
    }

    return link;
}

} // namespace

UsbTransport::UsbTransport(UsbAddress address, QObject* parent)
    : DeviceTransport(parent)
    , m_address(std::move(address))
    , m_gate(std::make_shared<Gate>())
{
    m_gate->target = this;
}

UsbTransport::~UsbTransport()
{
    {
        std::lock_guard lock(m_gate->mutex);
        m_gate->target = nullptr;
    }
    close();
}

void UsbTransport::open()
{
    close();
    const quint64 generation = ++m_gate->generation;
    // Opening may block (libusb_open, the serial string descriptor, claiming): it runs on a
    // pool thread, so no slot and no window waits for it.
    static QThreadPool* pool = [] {
        auto* p = new QThreadPool; // never destroyed: opens may outlive any one object
        p->setMaxThreadCount(8);
        return p;
    }();
    pool->start([gate = m_gate, address = m_address, generation] {
        if (gate->generation.load() != generation)
            return; // closed or reopened before this open began
        auto connected = connectDevice(address);
        auto device = std::make_shared<OpenedDevice>();
        Error error { ErrorCode::Io, {}, {}, {} };
        if (connected)
            device->link = *connected;
        else
            error = connected.error();
        std::lock_guard lock(gate->mutex);
        if (!gate->target)
            return; // the transport is gone; the device is released with `device`
        QMetaObject::invokeMethod(
            gate->target,
            [target = gate->target, device, error, generation] {
                if (generation != target->m_gate->generation.load())
                    return; // closed or reopened meanwhile
                if (!device->link)
                    return emit target->failed(error);
                std::shared_ptr<Link> link = std::exchange(device->link, nullptr);
                link->receiver = target;
                link->self = link;
                link->in = libusb_alloc_transfer(0);
                if (!link->in) {
                    device->link = link; // released with `device`
                    return emit target->failed(Error { ErrorCode::Io,
                        QStringLiteral("The USB device %1 could not be used: out of memory.")
                            .arg(target->m_address.toString()),
                        {}, {} });
                }
                link->inBuffer = QByteArray(InBufferSize, Qt::Uninitialized);
                target->m_link = link;
                {
                    std::lock_guard linkLock(link->mutex);
                    submitIn(*link);
                }
                emit target->opened();
            },
            Qt::QueuedConnection);
    });
}

void UsbTransport::close()
{
    ++m_gate->generation; // an open still under way is dropped
    if (!m_link)
        return;
    std::shared_ptr<Link> link = std::move(m_link);
    std::shared_ptr<Link> keep;
    {
        std::lock_guard lock(link->mutex);
        link->receiver = nullptr;
        link->closing = true;
        if (link->inFlight > 0 && link->in)
            libusb_cancel_transfer(link->in); // its callback releases the device
        link->releaseIfIdle();
        if (link->inFlight == 0)
            keep = std::move(link->self);
    }
    // The IN transfer is freed with the link, once its callback has run.
}

void UsbTransport::write(const QByteArray& bytes)
{
    if (!m_link)
        return;
    std::lock_guard lock(m_link->mutex);
    if (!m_link->handle || m_link->closing)
        return;
    auto* out = new OutTransfer { m_link, bytes };
    libusb_transfer* transfer = libusb_alloc_transfer(0);
    libusb_fill_bulk_transfer(transfer, m_link->handle, m_link->endpointOut,
        reinterpret_cast<unsigned char*>(out->bytes.data()), static_cast<int>(out->bytes.size()), onOut, out,
        WriteTimeoutMs);
    if (libusb_submit_transfer(transfer) != 0) {
        delete out;
        libusb_free_transfer(transfer);
        QMetaObject::invokeMethod(
            this, [this] { emit failed(disconnectedError(m_address)); }, Qt::QueuedConnection);
        return;
    }
    ++m_link->inFlight;
}

struct UsbWatcher::State {
    std::mutex mutex;
    UsbWatcher* receiver = nullptr;
    libusb_hotplug_callback_handle handle = 0;
    bool registered = false;
};

namespace {

int LIBUSB_CALL onHotplug(libusb_context*, libusb_device* device, libusb_hotplug_event event, void* user)
{
    auto* state = static_cast<UsbWatcher::State*>(user);
    std::lock_guard lock(state->mutex);
    if (!state->receiver)
        return 0;
    UsbWatcher* w = state->receiver;
    // Nothing is opened here (this runs inside libusb's event handling): the watcher's
    // thread reads the serial.
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED) {
        libusb_ref_device(device);
        QMetaObject::invokeMethod(
            w, [w, device] { w->onArrived(device); }, Qt::QueuedConnection);
    } else {
        const int bus = libusb_get_bus_number(device);
        const int address = libusb_get_device_address(device);
        QMetaObject::invokeMethod(
            w, [w, bus, address] { w->onLeft(bus, address); }, Qt::QueuedConnection);
    }
    return 0;
}

} // namespace

UsbWatcher::UsbWatcher(quint16 vendorId, quint16 productId, QObject* parent)
    : QObject(parent)
    , m_vendorId(vendorId)
    , m_productId(productId)
    , m_state(std::make_shared<State>())
{
}

UsbWatcher::~UsbWatcher()
{
    {
        std::lock_guard lock(m_state->mutex);
        m_state->receiver = nullptr;
    }
    auto ctx = UsbEvents::context();
    if (ctx && m_state->registered)
        libusb_hotplug_deregister_callback(*ctx, m_state->handle);
}

Result<void> UsbWatcher::start()
{
    auto ctx = UsbEvents::context();
    if (!ctx)
        return std::unexpected(ctx.error());
    if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG))
        return fail(ErrorCode::Io, QStringLiteral("This system's libusb cannot watch for USB devices (no hotplug)."));
    {
        std::lock_guard lock(m_state->mutex);
        m_state->receiver = this;
    }
    const int rc = libusb_hotplug_register_callback(*ctx,
        static_cast<libusb_hotplug_event>(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT),
        LIBUSB_HOTPLUG_ENUMERATE, m_vendorId, m_productId, LIBUSB_HOTPLUG_MATCH_ANY, onHotplug, m_state.get(),
        &m_state->handle);
    if (rc != 0)
        return fail(ErrorCode::Io, QStringLiteral("Could not watch for USB devices."),
            QStringLiteral("libusb_hotplug_register_callback returned %1").arg(usbErrorName(rc)));
    m_state->registered = true;
    return {};
}

void UsbWatcher::onArrived(void* opaque)
{
    auto* device = static_cast<libusb_device*>(opaque);
    UsbAddress address;
    address.vendorId = m_vendorId;
    address.productId = m_productId;
    libusb_device_descriptor desc {};
    libusb_device_handle* handle = nullptr;
    if (libusb_get_device_descriptor(device, &desc) == 0 && desc.iSerialNumber != 0
        && libusb_open(device, &handle) == 0) {
        unsigned char serial[256] = {};
        const int n = libusb_get_string_descriptor_ascii(handle, desc.iSerialNumber, serial, sizeof serial);
        if (n > 0)
            address.serial = QString::fromLatin1(reinterpret_cast<const char*>(serial), n);
        libusb_close(handle);
    }
    const int key = libusb_get_bus_number(device) << 8 | libusb_get_device_address(device);
    libusb_unref_device(device);
    m_present.insert(key, address);
    qCInfo(IMPRINT_USB) << "arrived:" << address.toString();
    emit arrived(address);
}

void UsbWatcher::onLeft(int bus, int deviceAddress)
{
    const UsbAddress address = m_present.take(bus << 8 | deviceAddress);
    qCInfo(IMPRINT_USB) << "left:" << address.toString();
    emit left(address);
}

} // namespace imprint::core
