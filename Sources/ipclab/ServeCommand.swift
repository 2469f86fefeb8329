import ArgumentParser

/// `ipclab serve` (wired to the HTTP layer below).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the lab's API and page over HTTP.")
    func run() throws {}
}
