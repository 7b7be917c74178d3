import Testing

@testable import StratusStack

@Suite struct EnvSubstTests {
    func expand(_ text: String, _ environment: [String: String] = [:]) -> String? {
        try? EnvSubst.expand(text, environment: environment)
    }

    @Test func plainAndDefaultForms() {
        let env = ["USER": "alexellis2", "EMPTY": ""]
        #expect(expand("${USER}/image", env) == "alexellis2/image")
        #expect(expand("${USER:-openfaas}/image", env) == "alexellis2/image")
        #expect(expand("${EMPTY:-openfaas}/image", env) == "openfaas/image")
        #expect(expand("${UNSET:-openfaas}/image", env) == "openfaas/image")
        #expect(expand("${UNSET}/image", env) == "/image")
        #expect(expand("${UNSET:=x} ${UNSET=y} ${UNSET:?z} ${UNSET:+w}", env) == "x y z w")
        #expect(expand("${USER:+w}", env) == "alexellis2")
        #expect(expand("${UNSET:-}", env) == "")
        #expect(expand("${UNSET:-a b:c/d}", env) == "a b:c/d")
    }

    @Test func nestedDefaults() {
        let env = ["DEFAULT": "foo1"]
        #expect(expand("${var=${DEFAULT}}", env) == "foo1")
        #expect(expand("foo: ${var=prefix${DEFAULT}-suffix}", env) == "foo: prefixfoo1-suffix")
        #expect(expand("${A:-${B:-${DEFAULT}}}", env) == "foo1")
    }

    @Test func bareDollarAndEscapes() {
        let env = ["V": "abc"]
        #expect(expand("$V and $HOME", env) == "$V and $HOME")
        #expect(expand("$${V}", env) == "${V}")
        #expect(expand("cost: $$5", env) == "cost: $5")
        #expect(expand("some text ${V}$${var$${V}$V${V}", env) == "some text abc${var${V}$Vabc")
        #expect(expand(#"a\\b \/ \n"#, env) == #"a\b / \n"#)
        #expect(expand("trailing $", env) == "trailing $")
    }

    @Test func hyphenBelongsToTheName() {
        #expect(expand("${VAR-default}", ["VAR": "x"]) == "")
        #expect(expand("${VAR-default}", ["VAR-default": "y"]) == "y")
    }

    @Test func stringFunctions() {
        let env = [
            "V": "abcdEFGH28ij", "P": "/home/bozo/ideas/thoughts.for.today", "Z": "abcABC123ABCabc",
            "F": "bash.string.txt", "S": "path/to/file",
        ]
        #expect(expand("${#V}", env) == "12")
        #expect(expand("${V^}", env) == "AbcdEFGH28ij")
        #expect(expand("${V^^}", env) == "ABCDEFGH28IJ")
        #expect(expand("${V,,}", env) == "abcdefgh28ij")
        #expect(expand("${Z,}", env) == "abcABC123ABCabc")
        #expect(expand("${P:11}", env) == "ideas/thoughts.for.today")
        #expect(expand("${P:11:5}", env) == "ideas")
        #expect(expand("${P:-5}", env) == "/home/bozo/ideas/thoughts.for.today")
        #expect(expand("${V:100}", env) == "")
        #expect(expand("${Z/%abc/XYZ}", env) == "abcABC123ABCXYZ")
        #expect(expand("${Z/#abc/XYZ}", env) == "XYZABC123ABCabc")
        #expect(expand("${Z//abc/xyz}", env) == "xyzABC123ABCxyz")
        #expect(expand("${Z/abc/xyz}", env) == "xyzABC123ABCabc")
        #expect(expand("${Z/abc/}", env) == "ABC123ABCabc")
        #expect(expand(#"${S//\//-}"#, env) == "path-to-file")
        #expect(expand("${F#*.}", env) == "string.txt")
        #expect(expand("${F##*.}", env) == "txt")
        #expect(expand("${S##*/}", env) == "file")
        #expect(expand("${F%.*}", env) == "bash.string")
        #expect(expand("${F%%.*}", env) == "bash")
        #expect(expand("${F#[a-c]?s}", env) == "h.string.txt")
        #expect(expand("${F#[}", env) == "bash.string.txt")
        #expect(expand("${var=${V^^}}", env) == "ABCDEFGH28IJ")
    }

    @Test func badSubstitutions() {
        for text in ["${", "${}", "${ V}", "${V", "${V.x}", "${V:-x", "${#}", "${V#}", "${V//x}", "${V:}", "a ${V!}"] {
            #expect(throws: EnvSubst.BadSubstitution.self, "\(text)") {
                try EnvSubst.expand(text, environment: ["V": "v"])
            }
        }
        do {
            _ = try EnvSubst.expand("ok ${A}\nbad ${B:-${C!}}", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 12)
        }
    }

    @Test func globMatching() throws {
        func matches(_ pattern: String, _ text: String) -> Bool? {
            Glob(Array(pattern.unicodeScalars))?.matches(ArraySlice(text.unicodeScalars))
        }
        #expect(matches("*", "a/b") == true)
        #expect(matches("a?c", "abc") == true)
        #expect(matches("a?c", "ac") == false)
        #expect(matches("[^a]x", "bx") == true)
        #expect(matches("[^a]x", "ax") == false)
        #expect(matches(#"\*"#, "*") == true)
        #expect(matches("[]", "x") == nil)
        #expect(matches("[z-a]", "x") == nil)
    }
}
