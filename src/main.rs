fn main() -> std::process::ExitCode {
    dscsa_exchange::cli::main()
}
