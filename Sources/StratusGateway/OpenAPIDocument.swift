/// The API's description, served at `/system/openapi.yaml`. `Resources/openapi.yaml` is a link to
/// docs/openapi.yaml, the one copy people edit; SwiftPM embeds what the link points to.
enum OpenAPIDocument {
    static let yaml = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
}
