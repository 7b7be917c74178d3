// A WASI-NN guest written against the wasi_ephemeral_nn ABI (as WasmEdge and Wasmtime define it),
// plus Stratus's stratus_nn.graph_info. Reads one command from stdin:
//   run NAME a b c d   load NAME, input f32 [1,4] = a b c d, print the f32 outputs
//   info NAME          print the graph's inputs and outputs as JSON
//   missing            load_by_name of an undeclared model
//   badptr NAME        set_input with a tensor record outside linear memory
//   shape NAME         set_input with the wrong shape
//   type NAME          set_input with the wrong element type
//   small NAME         get_output into a buffer too small for it
//   garbage            load() of bytes that are not a model
//   handle             calls with handles that were never returned
// and prints "errno N" for every failing call.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint32_t *dims;
    uint32_t rank;
    uint8_t type;  // 1 = f32
    const uint8_t *data;
    uint32_t length;
} tensor;

typedef struct {
    const uint8_t *data;
    uint32_t length;
} builder;

#define NN(name) __attribute__((import_module("wasi_ephemeral_nn"), import_name(#name)))
NN(load) uint32_t nn_load(const builder *builders, uint32_t count, uint32_t encoding, uint32_t target, uint32_t *graph);
NN(load_by_name) uint32_t nn_load_by_name(const char *name, uint32_t length, uint32_t *graph);
NN(init_execution_context) uint32_t nn_init(uint32_t graph, uint32_t *context);
NN(set_input) uint32_t nn_set_input(uint32_t context, uint32_t index, const tensor *input);
NN(compute) uint32_t nn_compute(uint32_t context);
NN(get_output) uint32_t nn_get_output(uint32_t context, uint32_t index, uint8_t *buffer, uint32_t capacity, uint32_t *written);
__attribute__((import_module("stratus_nn"), import_name("graph_info")))
uint32_t nn_graph_info(uint32_t graph, char *buffer, uint32_t capacity, uint32_t *written);

static int check(const char *what, uint32_t code) {
    if (code != 0) printf("%s errno %u\n", what, code);
    return code == 0;
}

int main(void) {
    char line[512] = {0};
    size_t n = fread(line, 1, sizeof line - 1, stdin);
    line[n] = 0;
    char command[32] = {0}, name[128] = {0};
    float values[4] = {0};
    int fields = sscanf(line, "%31s %127s %f %f %f %f", command, name, &values[0], &values[1], &values[2], &values[3]);
    if (fields < 1) { printf("no command\n"); return 2; }

    uint32_t graph = 0, context = 0;
    if (strcmp(command, "missing") == 0) { check("load_by_name", nn_load_by_name("nope", 4, &graph)); return 0; }
    if (strcmp(command, "garbage") == 0) {
        static const uint8_t junk[] = "this is not an onnx model";
        builder b = {junk, sizeof junk};
        check("load", nn_load(&b, 1, 1, 0, &graph));
        check("load-tflite", nn_load(&b, 1, 4, 0, &graph));
        return 0;
    }
    if (strcmp(command, "handle") == 0) {
        check("init", nn_init(42, &context));
        check("compute", nn_compute(7));
        return 0;
    }
    if (!check("load_by_name", nn_load_by_name(name, (uint32_t)strlen(name), &graph))) return 0;
    if (strcmp(command, "info") == 0) {
        char json[2048];
        uint32_t written = 0;
        if (check("graph_info", nn_graph_info(graph, json, sizeof json, &written))) printf("%.*s\n", (int)written, json);
        return 0;
    }
    if (!check("init", nn_init(graph, &context))) return 0;
    uint32_t dims[2] = {1, 4};
    tensor input = {dims, 2, 1, (const uint8_t *)values, sizeof values};
    if (strcmp(command, "badptr") == 0) { check("set_input", nn_set_input(context, 0, (const tensor *)0xFFFFFFF0u)); return 0; }
    if (strcmp(command, "shape") == 0) { uint32_t wrong[2] = {1, 5}; input.dims = wrong; }
    if (strcmp(command, "type") == 0) { input.type = 3; input.length = 4; }
    if (!check("set_input", nn_set_input(context, 0, &input))) return 0;
    if (!check("compute", nn_compute(context))) return 0;
    float out[4] = {0};
    uint32_t written = 0;
    uint32_t capacity = strcmp(command, "small") == 0 ? 8 : sizeof out;
    if (!check("get_output", nn_get_output(context, 0, (uint8_t *)out, capacity, &written))) return 0;
    printf("%g %g %g %g (%u bytes)\n", out[0], out[1], out[2], out[3], written);
    return 0;
}
