import StratusCLI

/// The executable only hands over to the command tree; every behaviour lives in StratusCLI.
@main
enum Entry {
    static func main() async {
        await Stratus.main()
    }
}
