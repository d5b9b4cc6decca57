# The CLI's contract, run by CTest as `cmake -P`: a valid config gives JSON on stdout and exit
# 0; an invalid one gives exit 2, one line "attnviz-trace: <field>: ..." on stderr and nothing
# on stdout. Inputs: CLI (the executable), WORK (a scratch directory).
file(MAKE_DIRECTORY "${WORK}")
string(ASCII 255 byte_ff)  # a byte that is never valid UTF-8

function(expect_failure name config field)
  file(WRITE "${WORK}/${name}.json" "${config}")
  execute_process(COMMAND "${CLI}" "${WORK}/${name}.json"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${name}: expected exit code 2, got ${rc}")
  endif()
  if(NOT out STREQUAL "")
    message(FATAL_ERROR "${name}: expected nothing on stdout, got: ${out}")
  endif()
  if(NOT err MATCHES "^attnviz-trace: ${field}: [^\n]+\n$")
    message(FATAL_ERROR "${name}: expected one line 'attnviz-trace: ${field}: ...' on stderr, got: ${err}")
  endif()
  string(FIND "${err}" "${byte_ff}" raw_byte)
  if(NOT raw_byte EQUAL -1)
    message(FATAL_ERROR "${name}: expected the message in valid UTF-8, got a raw byte 0xff: ${err}")
  endif()
endfunction()

# valid, from a file
file(WRITE "${WORK}/valid.json" [=[{"text":"The cat sat on the mat.","mask":"causal","heads":4}]=])
execute_process(COMMAND "${CLI}" "${WORK}/valid.json" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
  message(FATAL_ERROR "valid: expected exit 0 and an empty stderr, got ${rc}: ${err}")
endif()
string(JSON ntokens LENGTH "${out}" tokens)
string(JSON nheads LENGTH "${out}" heads)
string(JSON w01 GET "${out}" heads 0 weights 0 1)
if(NOT ntokens EQUAL 7 OR NOT nheads EQUAL 4 OR NOT w01 STREQUAL "0.0")
  message(FATAL_ERROR "valid: unexpected trace (tokens ${ntokens}, heads ${nheads}, causal weight[0][1] ${w01})")
endif()

# valid, from standard input, pretty
execute_process(COMMAND "${CLI}" --pretty INPUT_FILE "${WORK}/valid.json" RESULT_VARIABLE rc OUTPUT_VARIABLE pretty)
string(JSON pretty_tokens LENGTH "${pretty}" tokens)
if(NOT rc EQUAL 0 OR NOT pretty_tokens EQUAL 7 OR NOT pretty MATCHES "\n  \"tokens\": ")
  message(FATAL_ERROR "stdin --pretty: expected an indented trace, got exit ${rc}")
endif()

# --help
execute_process(COMMAND "${CLI}" --help RESULT_VARIABLE rc OUTPUT_VARIABLE help)
if(NOT rc EQUAL 0 OR NOT help MATCHES "^usage: attnviz-trace")
  message(FATAL_ERROR "--help: expected usage on stdout and exit 0")
endif()

# invalid configs
expect_failure(bad_json    [=[{"text": ]=]                               "json")
expect_failure(unknown_key [=[{"text":"a","colour":"red"}]=]              "colour")
expect_failure(heads       [=[{"text":"a","d_model":16,"heads":3}]=]      "heads")
expect_failure(shape       [=[{"tokens":["a"],"d_model":2,"heads":1,"embeddings":[[1,2,3]]}]=] "embeddings")
expect_failure(non_finite  [=[{"text":"a","weights":{"bq":[1e39]}}]=]     "weights.bq\\[0\\]")
expect_failure(limit       [=[{"text":"a","pattern":{"window":-1}}]=]     "pattern.window")
expect_failure(duplicate   [=[{"text":"a","seed":1,"seed":2}]=]           "seed")
expect_failure(temperature [=[{"text":"a","temperature":0}]=]             "temperature")

# what a person can paste (issue 6): each bad input is exit 2 and one line on stderr, which
# quotes the input's bytes as text (an invalid byte is written \xff, a newline \n)
string(REPEAT "ab " 33334 hundred_thousand)
string(REPEAT "[" 100 deep_open)
string(REPEAT "]" 100 deep_close)
expect_failure(empty_file     ""                                              "json")
expect_failure(empty_text     [=[{"text":""}]=]                               "text")
expect_failure(whitespace     [=[{"text":" \t\n\u3000"}]=]                    "text")
expect_failure(long_text      "{\"text\":\"${hundred_thousand}\"}"            "text")
expect_failure(invalid_utf8   "{\"text\":\"a${byte_ff}b\"}"                   "json")
expect_failure(invalid_token  [=[{"tokens":["a","\udc00"]}]=]                 "json")
expect_failure(deep           "{\"text\":\"a\",\"tokens\":${deep_open}${deep_close}}" "json")
expect_failure(huge_number    [=[{"text":"a","temperature":1e400}]=]          "json")
expect_failure(huge_integer   [=[{"text":"a","d_model":99999999999999999999}]=] "d_model")
expect_failure(truncated      [=[{"text":"a","pattern":{"kind":"lo]=]         "json")
expect_failure(overflow       [=[{"text":"a b","scale":1e300,"temperature":1e-300}]=] "scaled")
expect_failure(window_huge    [=[{"text":"a","pattern":{"window":100000}}]=]  "pattern.window")
expect_failure(key_newline    [=[{"text":"a","x\ny":1}]=]                     [=[x\\ny]=])

# an unreadable file
execute_process(COMMAND "${CLI}" "${WORK}/does-not-exist.json" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT out STREQUAL "" OR NOT err MATCHES "^attnviz-trace: [^\n]+does-not-exist.json: cannot be read\n$")
  message(FATAL_ERROR "missing file: expected exit 2 and one line on stderr, got ${rc}: ${err}")
endif()
