// Fuzzes what a station reads from a device: the frame decoder fed in uneven chunks, and
// every message parser on each payload it yields (and on the raw input as a payload).

#include "device/Frame.h"
#include "device/Protocol.h"

#include <cstdint>
#include <cstdlib>

using namespace imprint::core;

namespace {

void parse(const QByteArray& payload)
{
    if (auto request = protocol::decodeRequest(payload))
        (void)protocol::bytesField(request->args, QStringLiteral("cert"), 16 * 1024);
    if (auto response = protocol::decodeResponse(payload)) {
        (void)protocol::identityFromCbor(response->body);
        (void)protocol::bytesField(response->body, QStringLiteral("csr"), 16 * 1024);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const QByteArray input(reinterpret_cast<const char*>(data), static_cast<qsizetype>(size));
    const qsizetype chunk = size > 0 ? (data[0] % 97) + 1 : 1;
    frame::Decoder decoder;
    for (qsizetype pos = 0; pos < input.size(); pos += chunk) {
        for (const auto& event : decoder.feed(input.mid(pos, chunk))) {
            if (event.payload.size() > frame::MaxPayload)
                std::abort();
            parse(event.payload);
        }
        // The decoder never holds more than one frame's worth beyond the last chunk.
        if (decoder.buffered() > frame::HeaderSize + frame::MaxPayload + frame::TrailerSize + chunk)
            std::abort();
    }
    parse(input);
    return 0;
}
