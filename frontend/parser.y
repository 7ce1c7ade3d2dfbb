/* parser.y - the grammar of ONNX's textual syntax (as onnx/defs/parser.cc accepts it): a pure
 * bison parser with canonical LR(1) tables and no default reductions in inconsistent states,
 * so a syntax error lists exactly the tokens that could come next. Actions are thin: they call
 * the builder in parse.c, which owns the parser state and every partial result. Lists are
 * left-recursive, so a million-node graph keeps the parser stack shallow. */

%code requires {
#include "ir.h"

#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif

/* A token's location: its text in the caller's source text, and line:col. */
typedef struct FeLoc {
  const char *text;
  uint32_t len;
  int line, col;
} FeLoc;
#define FE_YYLTYPE FeLoc
#define FE_YYLTYPE_IS_DECLARED 1
/* A rule's location is its first symbol's (an empty rule takes the previous symbol's). */
#define YYLLOC_DEFAULT(Cur, Rhs, N) ((Cur) = (N) ? YYRHSLOC(Rhs, 1) : YYRHSLOC(Rhs, 0))

typedef struct FeParser FeParser;

/* The lexer's part of the parser state (flex's "extra"): the text and how much of it flex
 * has read, the offsets of the current token and of the next, the line counter, where the
 * current line starts, and the message of the last lexical error. It is FeParser's first
 * member. */
typedef struct FeLexState {
  const char *src;
  size_t len, feed;
  size_t tok, next;
  int line;
  const char *line_start;
  const char *msg;
  bool show; /* quote the offending text after msg */
} FeLexState;
_Noreturn void fe_lex_fatal(yyscan_t scanner, const char *msg);

/* parse.c: the builder the actions call. Semantic values stay small (a pointer or a count);
 * names, attribute values and node heads wait on parse.c's LIFO scratch stacks. */
size_t fe_push_id(FeParser *P, const FeLoc *l);
size_t fe_push_vname(FeParser *P, const FeLoc *l);
size_t fe_push_str(FeParser *P, const FeLoc *l);
size_t fe_push_empty(FeParser *P, const FeLoc *l);
size_t fe_push_tok(FeParser *P, const FeLoc *l, int tok);
size_t fe_push_kv(FeParser *P, const FeLoc *k, const FeLoc *v, int vtok);
size_t fe_nitems(FeParser *P);
size_t fe_join_push(FeParser *P, size_t mark);
const char *fe_pop_name(FeParser *P);
void fe_vi_type(FeParser *P, Type *t, const FeLoc *at);
void fe_model_key(FeParser *P, const FeLoc *key);
void fe_func_key(FeParser *P, const FeLoc *key);
Type *fe_type_tensor(FeParser *P, TypeKind kind, const FeLoc *kw, int64_t shape);
Type *fe_type_inner(FeParser *P, TypeKind kind, Type *inner);
Type *fe_type_map(FeParser *P, const FeLoc *key, Type *value);
Type *fe_type_opaque(FeParser *P, size_t mark);
void fe_graph_begin(FeParser *P);
Graph *fe_graph_end(FeParser *P, size_t in_mark, size_t out_mark);
void fe_set_main(FeParser *P, Graph *g);
size_t fe_nptrs(FeParser *P);
void fe_graph_input(FeParser *P, int with_init);
void fe_graph_output(FeParser *P);
void fe_value_info(FeParser *P);
void fe_graph_init_begin(FeParser *P);
void fe_init_attach(FeParser *P);
void fe_tensor_begin_attr(FeParser *P, Type *t, const FeLoc *at);
void fe_tensor_name(FeParser *P, const FeLoc *name);
void fe_data_open(FeParser *P, const FeLoc *open);
void fe_data_value(FeParser *P, const FeLoc *v, int tok);
void fe_data_close(FeParser *P, const FeLoc *close);
void fe_data_external(FeParser *P, const FeLoc *open, size_t mark);
void fe_av_int(FeParser *P, const FeLoc *l);
void fe_av_float(FeParser *P, const FeLoc *l);
void fe_av_string(FeParser *P, const FeLoc *l);
void fe_av_type(FeParser *P, Type *t, const FeLoc *l);
void fe_av_tensor(FeParser *P, const FeLoc *l);
void fe_av_graph(FeParser *P, Graph *g, const FeLoc *l);
void fe_av_ref(FeParser *P, const FeLoc *at);
void fe_av_list(FeParser *P, const FeLoc *open, size_t count, int items);
AttrType fe_attr_type(FeParser *P, const FeLoc *l);
void fe_attr_push(FeParser *P, const FeLoc *name, AttrType ann);
void fe_param_push(FeParser *P, AttrType ann, int has_default);
void fe_node_head(FeParser *P, const char *label, const FeLoc *lbl, size_t n_out, const FeLoc *eq,
                  size_t n_seg, const FeLoc *overload);
void fe_node(FeParser *P, size_t n_in, size_t n_attrs);
void fe_func_begin(FeParser *P);
void fe_func_end(FeParser *P, size_t n_params, size_t in_mark, size_t out_mark);
/* found: 0 = the token at `at`, 1 = end of input, 2 = a lexical error (message kept by the lexer) */
void fe_syntax_error(FeParser *P, const FeLoc *at, int found, const char *const *expected,
                     int n_expected);
void fe_parser_error(FeParser *P, const FeLoc *at, const char *msg);
/* Bison's stacks grow on the heap: parse.c tracks the blocks, so a parse abandoned by a
 * fatal lexer error (longjmp) still frees them. */
void *fe_stack_alloc(size_t n);
void fe_stack_free(void *p);
}

%code {
#include "lexer.h"

#define YYMALLOC fe_stack_alloc
#define YYFREE fe_stack_free
#define YYINITDEPTH 256
#define YYMAXDEPTH 20000

static void fe_yyerror(FeLoc *loc, FeParser *P, yyscan_t scanner, const char *msg) {
  (void)scanner;
  fe_parser_error(P, loc, msg);
}
}

%define api.pure full
%define api.prefix {fe_yy}
%define api.token.prefix {TK_}
%define parse.error custom
%define lr.type canonical-lr
%define lr.default-reduction accepting
%locations
%lex-param {yyscan_t scanner}
%parse-param {FeParser *P} {yyscan_t scanner}
%expect 0

%union {
  Type *type;
  Graph *graph;
  size_t n;
  int64_t i;
  AttrType at;
  const char *str;
}

%token END 0 "end of input"
%token ID "identifier"
%token TYPEKW "type name"
%token SEQ "'seq'"
%token MAP "'map'"
%token OPTIONAL "'optional'"
%token SPARSE "'sparse_tensor'"
%token OPAQUE "'opaque'"
%token INT "integer"
%token FLOAT "number"
%token FSPECIAL "'inf'/'nan'"
%token STRING "string"
%token ARROW "'=>'"
%token LEXERR "invalid token"

%type <type> type
%type <i> shape
%type <n> dims oargs oname opname kvs ids idl gins gin_list gouts gout_list
%type <n> attrs attr_list alist fattrs_opt fattr_list fins fin_list
%type <at> ann
%type <graph> gsig
%type <str> label

%%

model
  : mheader graph_main functions_opt
  | graph_main functions_opt
  ;

/* ---- model and function headers: < key: value, ... > */
mheader
  : '<' mhdr_list '>'
  ;
mhdr_list
  : mhdr_item
  | mhdr_list ',' mhdr_item
  ;
mhdr_item
  : anyid ':' hval   { fe_model_key(P, &@1); }
  ;
fheader_opt
  : %empty
  | '<' fhdr_list '>'
  ;
fhdr_list
  : fhdr_item
  | fhdr_list ',' fhdr_item
  ;
fhdr_item
  : anyid ':' hval   { fe_func_key(P, &@1); }
  ;
hval
  : INT              { fe_av_int(P, &@1); }
  | STRING           { fe_av_string(P, &@1); }
  | '[' ']'          { fe_av_list(P, &@1, 0, 1); }
  | '[' kvs ']'      { fe_av_list(P, &@1, $2, 1); }
  ;
kvs
  : kv_item              { $$ = 1; }
  | kvs ',' kv_item      { $$ = $1 + 1; }
  ;
kv_item
  : STRING ':' INT       { fe_push_kv(P, &@1, &@3, TK_INT); }
  | STRING ':' STRING    { fe_push_kv(P, &@1, &@3, TK_STRING); }
  ;

/* ---- names: keywords are contextual, so every keyword is also a name */
kwid
  : TYPEKW | SEQ | MAP | OPTIONAL | SPARSE | OPAQUE | FSPECIAL
  ;
anyid
  : ID | kwid
  ;
/* a name (pushed on the name stack) */
qid
  : ID               { fe_push_id(P, &@1); }
  | kwid             { fe_push_id(P, &@1); }
  | STRING           { fe_push_str(P, &@1); }
  ;
/* a name where a type could also start: type keywords mean a type there */
qid_nt
  : ID               { fe_push_id(P, &@1); }
  | FSPECIAL         { fe_push_id(P, &@1); }
  | STRING           { fe_push_str(P, &@1); }
  ;

/* ---- types */
type
  : TYPEKW shape                     { $$ = fe_type_tensor(P, TYPE_TENSOR, &@1, $2); }
  | SEQ '(' type ')'                 { $$ = fe_type_inner(P, TYPE_SEQUENCE, $3); }
  | OPTIONAL '(' type ')'            { $$ = fe_type_inner(P, TYPE_OPTIONAL, $3); }
  | MAP '(' TYPEKW ',' type ')'      { $$ = fe_type_map(P, &@3, $5); }
  | SPARSE '(' TYPEKW shape ')'      { $$ = fe_type_tensor(P, TYPE_SPARSE, &@3, $4); }
  | OPAQUE '(' oargs ')'             { $$ = fe_type_opaque(P, $3); }
  ;
shape
  : %empty                           { $$ = -2; /* scalar */ }
  | '[' ']'                          { $$ = -1; /* unknown rank */ }
  | '[' dims ']'                     { $$ = (int64_t)$2; }
  ;
dims
  : dim                              { $$ = fe_nitems(P) - 1; }
  | dims ',' dim                     { $$ = $1; }
  ;
dim
  : '?'                              { fe_push_tok(P, &@1, '?'); }
  | anyid                            { fe_push_id(P, &@1); }
  | STRING                           { fe_push_str(P, &@1); }
  | INT                              { fe_push_tok(P, &@1, TK_INT); }
  ;
oargs
  : %empty                           { $$ = fe_nitems(P); }
  | oname                            { $$ = $1; }
  | oname ',' oname                  { $$ = $1; }
  ;
oname
  : STRING                           { $$ = fe_push_str(P, &@1); }
  | opname                           { $$ = fe_join_push(P, fe_nitems(P) - $1); }
  ;
/* a dotted name: its segments are pushed, the value is their count */
opname
  : ID                               { fe_push_id(P, &@1); $$ = 1; }
  | kwid                             { fe_push_id(P, &@1); $$ = 1; }
  | opname '.' anyid                 { fe_push_id(P, &@3); $$ = $1 + 1; }
  ;

/* ---- graphs: name (inputs) => (outputs) <value infos and initializers> { nodes } */
graph_main
  : qid { fe_graph_begin(P); } gsig   { fe_set_main(P, $3); }
  ;
gsig
  : gins ARROW gouts gvi_opt '{' nodes '}'   { $$ = fe_graph_end(P, $1, $3); }
  ;
gins
  : %empty                           { $$ = fe_nptrs(P); }
  | '(' ')'                          { $$ = fe_nptrs(P); }
  | '(' gin_list ')'                 { $$ = $2; }
  ;
gin_list
  : gin                              { $$ = fe_nptrs(P) - 1; }
  | gin_list ',' gin                 { $$ = $1; }
  ;
gin
  : vi                               { fe_graph_input(P, 0); }
  | vi '=' { fe_graph_input(P, 1); } tdata { fe_init_attach(P); }
  ;
gouts
  : '(' ')'                          { $$ = fe_nptrs(P); }
  | '(' gout_list ')'                { $$ = $2; }
  ;
gout_list
  : vi                               { fe_graph_output(P); $$ = fe_nptrs(P) - 1; }
  | gout_list ',' vi                 { fe_graph_output(P); $$ = $1; }
  ;
gvi_opt
  : %empty
  | '<' '>'
  | '<' gvi_list '>'
  ;
gvi_list
  : gvi
  | gvi_list ',' gvi
  ;
gvi
  : vi                               { fe_value_info(P); }
  | vi '=' { fe_graph_init_begin(P); } tdata { fe_init_attach(P); }
  ;
/* a value-info: the name is pushed, with its type */
vi
  : type qid                         { fe_vi_type(P, $1, &@1); }
  | qid_nt
  ;

/* ---- tensor data: { v, v, ... } inline, or [ "location": "...", ... ] external */
tdata
  : tdata_inline
  | '[' kvs ']'                      { fe_data_external(P, &@1, $2); }
  ;
tdata_inline
  : '{' { fe_data_open(P, &@1); } tvals_opt '}' { fe_data_close(P, &@4); }
  ;
tvals_opt
  : %empty
  | tvals
  ;
tvals
  : tval
  | tvals ',' tval
  ;
tval
  : INT                              { fe_data_value(P, &@1, TK_INT); }
  | FLOAT                            { fe_data_value(P, &@1, TK_FLOAT); }
  | FSPECIAL                         { fe_data_value(P, &@1, TK_FLOAT); }
  | STRING                           { fe_data_value(P, &@1, TK_STRING); }
  ;

/* ---- nodes: [label] outs = domain.Op:overload <attrs> (ins) <attrs> */
nodes
  : %empty
  | nodes node
  ;
node
  : nhead '(' ids ')'                { fe_node(P, $3, 0); }
  | nhead attrs '(' ids ')'          { fe_node(P, $4, $2); }
  | nhead '(' ids ')' attrs          { fe_node(P, $3, $5); }
  ;
nhead
  : ids '=' opname                   { fe_node_head(P, NULL, NULL, $1, &@2, $3, NULL); }
  | ids '=' opname ':' anyid         { fe_node_head(P, NULL, NULL, $1, &@2, $3, &@5); }
  | label ids '=' opname             { fe_node_head(P, $1, &@1, $2, &@3, $4, NULL); }
  | label ids '=' opname ':' anyid   { fe_node_head(P, $1, &@1, $2, &@3, $4, &@6); }
  ;
label
  : '[' ']'                          { $$ = ""; }
  | '[' qid ']'                      { $$ = fe_pop_name(P); }
  ;
/* An id list: elements may be empty ("x, , z", ", z", "\"\""); a trailing comma is ignored.
 * The names are pushed; the value is their count. */
ids
  : %empty                           { $$ = 0; }
  | ID                               { fe_push_vname(P, &@1); $$ = 1; }
  | qid_x                            { $$ = 1; }
  | idl                              { $$ = $1; }
  | idl ID                           { fe_push_vname(P, &@2); $$ = $1 + 1; }
  | idl qid_x                        { $$ = $1 + 1; }
  ;
idl
  : ','                              { fe_push_empty(P, &@1); $$ = 1; }
  | ID ','                           { fe_push_vname(P, &@1); $$ = 1; }
  | qid_x ','                        { $$ = 1; }
  | idl ','                          { fe_push_empty(P, &@2); $$ = $1 + 1; }
  | idl ID ','                       { fe_push_vname(P, &@2); $$ = $1 + 1; }
  | idl qid_x ','                    { $$ = $1 + 1; }
  ;
/* a name other than a plain identifier (those are inlined above: the common case) */
qid_x
  : kwid             { fe_push_id(P, &@1); }
  | STRING           { fe_push_str(P, &@1); }
  ;
attrs
  : '<' attr_list '>'                { $$ = $2; }
  ;
attr_list
  : attr                             { $$ = 1; }
  | attr_list ',' attr               { $$ = $1 + 1; }
  ;
attr
  : ID ann '=' aval                  { fe_attr_push(P, &@1, $2); }
  | kwid ann '=' aval                { fe_attr_push(P, &@1, $2); }
  ;
ann
  : %empty                           { $$ = ATTR_UNDEFINED; }
  | ':' anyid                        { $$ = fe_attr_type(P, &@2); }
  ;
/* an attribute value (pushed on the value stack) */
aval
  : asingle
  | '[' ']'                          { fe_av_list(P, &@1, 0, 0); }
  | '[' alist ']'                    { fe_av_list(P, &@1, $2, 0); }
  ;
alist
  : asingle                          { $$ = 1; }
  | alist ',' asingle                { $$ = $1 + 1; }
  ;
asingle
  : INT                              { fe_av_int(P, &@1); }
  | FLOAT                            { fe_av_float(P, &@1); }
  | FSPECIAL                         { fe_av_float(P, &@1); }
  | STRING                           { fe_av_string(P, &@1); }
  | type                             { fe_av_type(P, $1, &@1); }
  | type { fe_tensor_begin_attr(P, $1, &@1); } ttail
                                     { fe_av_tensor(P, &@1); }
  | ID { fe_push_id(P, &@1); fe_graph_begin(P); } gsig
                                     { fe_av_graph(P, $3, &@1); }
  | '@' qid                          { fe_av_ref(P, &@1); }
  ;
/* after a tensor type: {data}, = data, or a name (then optionally = and data) */
ttail
  : tdata_inline
  | '=' tdata_opt
  | anyid tname_rest                 { fe_tensor_name(P, &@1); }
  ;
tname_rest
  : %empty
  | '=' tdata_opt
  | tdata
  ;
tdata_opt
  : %empty
  | tdata
  ;

/* ---- functions */
functions_opt
  : %empty
  | functions_opt function
  ;
function
  : fheader_opt qid fattrs_opt { fe_func_begin(P); } fins ARROW gouts fvi_opt '{' nodes '}'
                                     { fe_func_end(P, $3, $5, $7); }
  ;
fattrs_opt
  : %empty                           { $$ = 0; }
  | '<' fattr_list '>'               { $$ = $2; }
  ;
fattr_list
  : fattr                            { $$ = 1; }
  | fattr_list ',' fattr             { $$ = $1 + 1; }
  ;
fattr
  : qid                              { fe_param_push(P, ATTR_UNDEFINED, 0); }
  | qid ann '=' aval                 { fe_param_push(P, $2, 1); }
  ;
fins
  : '(' ')'                          { $$ = fe_nptrs(P); }
  | '(' fin_list ')'                 { $$ = $2; }
  ;
fin_list
  : vi                               { fe_graph_input(P, 0); $$ = fe_nptrs(P) - 1; }
  | fin_list ',' vi                  { fe_graph_input(P, 0); $$ = $1; }
  ;
fvi_opt
  : %empty
  | '<' '>'
  | '<' fvi_list '>'
  ;
fvi_list
  : vi                               { fe_value_info(P); }
  | fvi_list ',' vi                  { fe_value_info(P); }
  ;

%%

/* Readable syntax errors: "expected ')' or ',' but found 'x'". Keyword tokens are names as
 * well, so when a name is expected they are not listed one by one. */
static int yyreport_syntax_error(const yypcontext_t *ctx, FeParser *P, yyscan_t scanner) {
  (void)scanner;
  yysymbol_kind_t exp[YYNTOKENS];
  int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
  if (n < 0) n = 0;
  bool has_id = false, has_type = false;
  for (int i = 0; i < n; i++) {
    if (exp[i] == YYSYMBOL_ID) has_id = true;
    if (exp[i] == YYSYMBOL_TYPEKW) has_type = true;
  }
  const char *names[YYNTOKENS];
  int k = 0;
  for (int i = 0; i < n; i++) {
    yysymbol_kind_t s = exp[i];
    bool kw = s == YYSYMBOL_TYPEKW || s == YYSYMBOL_SEQ || s == YYSYMBOL_MAP || s == YYSYMBOL_OPTIONAL ||
              s == YYSYMBOL_SPARSE || s == YYSYMBOL_OPAQUE || s == YYSYMBOL_FSPECIAL;
    if (kw && has_id) continue;
    if (kw && has_type && s != YYSYMBOL_TYPEKW && s != YYSYMBOL_FSPECIAL) continue;
    if (s == YYSYMBOL_LEXERR || s == YYSYMBOL_YYerror || s == YYSYMBOL_YYUNDEF) continue;
    names[k++] = s == YYSYMBOL_YYEOF ? "end of input" : yysymbol_name(s);
  }
  yysymbol_kind_t tok = yypcontext_token(ctx);
  int found = tok == YYSYMBOL_YYEOF ? 1 : tok == YYSYMBOL_LEXERR ? 2 : 0;
  fe_syntax_error(P, yypcontext_location(ctx), found, names, k);
  return 0;
}
