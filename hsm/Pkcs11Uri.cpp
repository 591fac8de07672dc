#include "Pkcs11Uri.h"

#include <QUrl>

namespace imprint::hsm {

using core::ErrorCode;

namespace {

core::Result<QByteArray> pctDecode(const QString& value, const QString& uri)
{
    // RFC 7512 2.3: values are percent-encoded UTF-8; reject malformed escapes rather than guess.
    for (qsizetype i = 0; i < value.size(); ++i) {
        if (value[i] == u'%'
            && (i + 2 >= value.size() + 0 || !isxdigit(value[i + 1].toLatin1()) || !isxdigit(value[i + 2].toLatin1())))
            return core::fail(
                ErrorCode::BadInput, QStringLiteral("The PKCS#11 URI %1 has a broken %-escape.").arg(uri));
    }
    return QByteArray::fromPercentEncoding(value.toUtf8());
}

QString pctEncode(const QByteArray& bytes)
{
    return QString::fromLatin1(bytes.toPercentEncoding("-._~:/"));
}

} // namespace

core::Result<Pkcs11Uri> Pkcs11Uri::parse(const QString& text)
{
    if (!text.startsWith(QLatin1String("pkcs11:")))
        return core::fail(ErrorCode::BadInput,
            QStringLiteral("\"%1\" is not a PKCS#11 URI (it must start with \"pkcs11:\").").arg(text));
    Pkcs11Uri uri;
    const QString rest = text.mid(7);
    const qsizetype q = rest.indexOf(u'?');
    const QString path = q < 0 ? rest : rest.left(q);
    const QString query = q < 0 ? QString() : rest.mid(q + 1);

    for (const QString& attr : path.split(u';', Qt::SkipEmptyParts)) {
        const qsizetype eq = attr.indexOf(u'=');
        if (eq <= 0)
            return core::fail(ErrorCode::BadInput,
                QStringLiteral("The PKCS#11 URI %1 has a malformed attribute \"%2\".").arg(text, attr));
        const QString name = attr.left(eq);
        auto value = pctDecode(attr.mid(eq + 1), text);
        if (!value)
            return std::unexpected(value.error());
        if (name == QLatin1String("token"))
            uri.token = QString::fromUtf8(*value);
        else if (name == QLatin1String("object"))
            uri.object = QString::fromUtf8(*value);
        else if (name == QLatin1String("id"))
            uri.id = *value;
        // Other path attributes (manufacturer, serial, type, ...) narrow the match; not used yet.
    }
    for (const QString& attr : query.split(u'&', Qt::SkipEmptyParts)) {
        const qsizetype eq = attr.indexOf(u'=');
        if (eq <= 0)
            return core::fail(ErrorCode::BadInput,
                QStringLiteral("The PKCS#11 URI %1 has a malformed query \"%2\".").arg(text, attr));
        const QString name = attr.left(eq);
        auto value = pctDecode(attr.mid(eq + 1), text);
        if (!value)
            return std::unexpected(value.error());
        if (name == QLatin1String("module-path"))
            uri.modulePath = QString::fromUtf8(*value);
        else if (name == QLatin1String("pin-source"))
            uri.pinSource = QString::fromUtf8(*value);
        else if (name == QLatin1String("pin-value"))
            return core::fail(ErrorCode::BadInput,
                QStringLiteral("PKCS#11 URIs with pin-value are refused: a PIN must not be written in "
                               "settings. Use pin-source=file:/path instead."));
    }
    return uri;
}

QString Pkcs11Uri::pinFile() const
{
    if (pinSource.startsWith(QLatin1String("file:")))
        return QUrl(pinSource).toLocalFile().isEmpty() ? pinSource.mid(5) : QUrl(pinSource).toLocalFile();
    return pinSource;
}

QString Pkcs11Uri::toString() const
{
    QStringList path;
    if (!token.isEmpty())
        path << QStringLiteral("token=") + pctEncode(token.toUtf8());
    if (!object.isEmpty())
        path << QStringLiteral("object=") + pctEncode(object.toUtf8());
    if (!id.isEmpty()) {
        // Every octet escaped: RFC 7512 allows some raw, but other readers (libp11's
        // engine among them) take an id only in full %XX form.
        QString hex;
        for (const char c : id)
            hex += QStringLiteral("%%1").arg(static_cast<unsigned char>(c), 2, 16, QLatin1Char('0')).toUpper();
        path << QStringLiteral("id=") + hex;
    }
    QStringList query;
    if (!modulePath.isEmpty())
        query << QStringLiteral("module-path=") + pctEncode(modulePath.toUtf8());
    if (!pinSource.isEmpty())
        query << QStringLiteral("pin-source=") + pctEncode(pinSource.toUtf8());
    QString out = QStringLiteral("pkcs11:") + path.join(u';');
    if (!query.isEmpty())
        out += u'?' + query.join(u'&');
    return out;
}

} // namespace imprint::hsm
