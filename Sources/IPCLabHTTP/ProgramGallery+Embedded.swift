import CIPCLab
import IPCLabCore

extension ProgramGallery {
    /// The gallery with the sources built into the binary (CIPCLab's `gallery_sources.c` embeds the
    /// repository's `programs/`), so the server lists them wherever it is started from.
    public static let embedded: ProgramGallery = {
        var sources: [String: String] = [:]
        for i in 0..<ipclab_gallery_file_count() {
            var size = 0
            guard let name = ipclab_gallery_file_name(i), let bytes = ipclab_gallery_file_bytes(i, &size) else { continue }
            sources[String(cString: name)] = String(decoding: UnsafeBufferPointer(start: bytes, count: size), as: UTF8.self)
        }
        return ProgramGallery(sources: sources)
    }()

    /// The body of `GET /api/v1/programs`, written once.
    static let embeddedJSON: [UInt8] = embedded.json()
}
