#include "PlantReader.h"

#include "UpstreamWorker.h"
#include "plant/PlantLookup.h"

#include <QPointer>

namespace imprint::app {

QList<QByteArray> plantRoots(const core::StationConfig& config, const QList<QByteArray>& ownChain)
{
    QList<QByteArray> roots;
    if (!ownChain.isEmpty())
        roots << ownChain.last();
    if (auto anchors = readUpstreamAnchors(config))
        roots += *anchors;
    return roots;
}

PlantReader::PlantReader(core::StationConfig config, QList<QByteArray> ownChain, QObject* parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_roots(plantRoots(m_config, ownChain))
    , m_worker(new QObject)
{
    m_thread.setObjectName(QStringLiteral("plant-reader"));
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start();
}

PlantReader::~PlantReader()
{
    m_thread.quit();
    m_thread.wait();
}

void PlantReader::run(QObject* context, std::function<core::Result<QJsonObject>()> work,
    std::function<void(core::Result<QJsonObject>)> done)
{
    QPointer<QObject> guard(context);
    QMetaObject::invokeMethod(m_worker, [guard, work = std::move(work), done = std::move(done)]() mutable {
        auto result = work();
        if (!guard)
            return;
        QMetaObject::invokeMethod(
            guard.data(),
            [guard, done = std::move(done), result = std::move(result)]() mutable {
                if (guard)
                    done(std::move(result));
            },
            Qt::QueuedConnection);
    });
}

void PlantReader::plantDevice(QObject* context, QString serial, std::function<void(core::Result<QJsonObject>)> done)
{
    run(
        context,
        [plant = m_config.plant, roots = m_roots, serial] { return core::lookUpPlantDevice(plant, roots, serial); },
        std::move(done));
}

void PlantReader::plantFigures(QObject* context, std::function<void(core::Result<QJsonObject>)> done)
{
    run(
        context, [plant = m_config.plant] { return core::plantFigures(plant); }, std::move(done));
}

} // namespace imprint::app
