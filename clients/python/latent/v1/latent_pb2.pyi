from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VectorFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FLOATS: _ClassVar[VectorFormat]
    PACKED: _ClassVar[VectorFormat]

class ModelKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_KIND_UNSPECIFIED: _ClassVar[ModelKind]
    WORD: _ClassVar[ModelKind]
    SENTENCE: _ClassVar[ModelKind]

class IndexState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INDEX_STATE_UNSPECIFIED: _ClassVar[IndexState]
    EXACT: _ClassVar[IndexState]
    BUILDING: _ClassVar[IndexState]
    HNSW: _ClassVar[IndexState]

class AnalogyMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COSADD: _ClassVar[AnalogyMethod]
    COSMUL: _ClassVar[AnalogyMethod]

class InterpolationPath(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LERP: _ClassVar[InterpolationPath]
    SLERP: _ClassVar[InterpolationPath]

class DirectionMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PCA: _ClassVar[DirectionMethod]
    MEAN_DIFFERENCE: _ClassVar[DirectionMethod]

class Metric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COSINE: _ClassVar[Metric]
    DOT: _ClassVar[Metric]
    L2: _ClassVar[Metric]
FLOATS: VectorFormat
PACKED: VectorFormat
MODEL_KIND_UNSPECIFIED: ModelKind
WORD: ModelKind
SENTENCE: ModelKind
INDEX_STATE_UNSPECIFIED: IndexState
EXACT: IndexState
BUILDING: IndexState
HNSW: IndexState
COSADD: AnalogyMethod
COSMUL: AnalogyMethod
LERP: InterpolationPath
SLERP: InterpolationPath
PCA: DirectionMethod
MEAN_DIFFERENCE: DirectionMethod
COSINE: Metric
DOT: Metric
L2: Metric

class Vector(_message.Message):
    __slots__ = ("values", "packed")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    PACKED_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    packed: bytes
    def __init__(self, values: _Optional[_Iterable[float]] = ..., packed: _Optional[bytes] = ...) -> None: ...

class Term(_message.Message):
    __slots__ = ("key", "text", "vector", "weight")
    KEY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    key: str
    text: str
    vector: Vector
    weight: float
    def __init__(self, key: _Optional[str] = ..., text: _Optional[str] = ..., vector: _Optional[_Union[Vector, _Mapping]] = ..., weight: _Optional[float] = ...) -> None: ...

class ResolvedTerm(_message.Message):
    __slots__ = ("input", "key", "unknown_tokens")
    INPUT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_TOKENS_FIELD_NUMBER: _ClassVar[int]
    input: str
    key: str
    unknown_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, input: _Optional[str] = ..., key: _Optional[str] = ..., unknown_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class QueryOptions(_message.Message):
    __slots__ = ("exact", "ef", "restrict", "include_inputs", "remove")
    EXACT_FIELD_NUMBER: _ClassVar[int]
    EF_FIELD_NUMBER: _ClassVar[int]
    RESTRICT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INPUTS_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    exact: bool
    ef: int
    restrict: int
    include_inputs: bool
    remove: _containers.RepeatedCompositeFieldContainer[Direction]
    def __init__(self, exact: _Optional[bool] = ..., ef: _Optional[int] = ..., restrict: _Optional[int] = ..., include_inputs: _Optional[bool] = ..., remove: _Optional[_Iterable[_Union[Direction, _Mapping]]] = ...) -> None: ...

class Neighbor(_message.Message):
    __slots__ = ("key", "score")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    key: str
    score: float
    def __init__(self, key: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "kind", "dimension", "num_keys", "source", "index_state", "is_default", "max_tokens", "prompt_names", "has_subwords")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    NUM_KEYS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INDEX_STATE_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_NAMES_FIELD_NUMBER: _ClassVar[int]
    HAS_SUBWORDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: ModelKind
    dimension: int
    num_keys: int
    source: str
    index_state: IndexState
    is_default: bool
    max_tokens: int
    prompt_names: _containers.RepeatedScalarFieldContainer[str]
    has_subwords: bool
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[ModelKind, str]] = ..., dimension: _Optional[int] = ..., num_keys: _Optional[int] = ..., source: _Optional[str] = ..., index_state: _Optional[_Union[IndexState, str]] = ..., is_default: _Optional[bool] = ..., max_tokens: _Optional[int] = ..., prompt_names: _Optional[_Iterable[str]] = ..., has_subwords: _Optional[bool] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class EncodeRequest(_message.Message):
    __slots__ = ("model", "inputs", "normalize", "dimensions", "prompt_name", "truncate", "vector_format", "remove")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    NORMALIZE_FIELD_NUMBER: _ClassVar[int]
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_NAME_FIELD_NUMBER: _ClassVar[int]
    TRUNCATE_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FORMAT_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    model: str
    inputs: _containers.RepeatedScalarFieldContainer[str]
    normalize: bool
    dimensions: int
    prompt_name: str
    truncate: bool
    vector_format: VectorFormat
    remove: _containers.RepeatedCompositeFieldContainer[Direction]
    def __init__(self, model: _Optional[str] = ..., inputs: _Optional[_Iterable[str]] = ..., normalize: _Optional[bool] = ..., dimensions: _Optional[int] = ..., prompt_name: _Optional[str] = ..., truncate: _Optional[bool] = ..., vector_format: _Optional[_Union[VectorFormat, str]] = ..., remove: _Optional[_Iterable[_Union[Direction, _Mapping]]] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("vector", "truncated", "unknown_tokens")
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_TOKENS_FIELD_NUMBER: _ClassVar[int]
    vector: Vector
    truncated: bool
    unknown_tokens: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, vector: _Optional[_Union[Vector, _Mapping]] = ..., truncated: _Optional[bool] = ..., unknown_tokens: _Optional[_Iterable[str]] = ...) -> None: ...

class EncodeResponse(_message.Message):
    __slots__ = ("model", "dimension", "embeddings")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    model: str
    dimension: int
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    def __init__(self, model: _Optional[str] = ..., dimension: _Optional[int] = ..., embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ...) -> None: ...

class AnalogyRequest(_message.Message):
    __slots__ = ("space", "positive", "negative", "k", "method", "options")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    space: str
    positive: _containers.RepeatedCompositeFieldContainer[Term]
    negative: _containers.RepeatedCompositeFieldContainer[Term]
    k: int
    method: AnalogyMethod
    options: QueryOptions
    def __init__(self, space: _Optional[str] = ..., positive: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., negative: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., k: _Optional[int] = ..., method: _Optional[_Union[AnalogyMethod, str]] = ..., options: _Optional[_Union[QueryOptions, _Mapping]] = ...) -> None: ...

class AnalogyResponse(_message.Message):
    __slots__ = ("space", "neighbors", "positive", "negative", "searched_with")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    SEARCHED_WITH_FIELD_NUMBER: _ClassVar[int]
    space: str
    neighbors: _containers.RepeatedCompositeFieldContainer[Neighbor]
    positive: _containers.RepeatedCompositeFieldContainer[ResolvedTerm]
    negative: _containers.RepeatedCompositeFieldContainer[ResolvedTerm]
    searched_with: IndexState
    def __init__(self, space: _Optional[str] = ..., neighbors: _Optional[_Iterable[_Union[Neighbor, _Mapping]]] = ..., positive: _Optional[_Iterable[_Union[ResolvedTerm, _Mapping]]] = ..., negative: _Optional[_Iterable[_Union[ResolvedTerm, _Mapping]]] = ..., searched_with: _Optional[_Union[IndexState, str]] = ...) -> None: ...

class AnalogyQuery(_message.Message):
    __slots__ = ("positive", "negative")
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    positive: _containers.RepeatedCompositeFieldContainer[Term]
    negative: _containers.RepeatedCompositeFieldContainer[Term]
    def __init__(self, positive: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., negative: _Optional[_Iterable[_Union[Term, _Mapping]]] = ...) -> None: ...

class BatchAnalogyRequest(_message.Message):
    __slots__ = ("space", "queries", "k", "method", "options")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    space: str
    queries: _containers.RepeatedCompositeFieldContainer[AnalogyQuery]
    k: int
    method: AnalogyMethod
    options: QueryOptions
    def __init__(self, space: _Optional[str] = ..., queries: _Optional[_Iterable[_Union[AnalogyQuery, _Mapping]]] = ..., k: _Optional[int] = ..., method: _Optional[_Union[AnalogyMethod, str]] = ..., options: _Optional[_Union[QueryOptions, _Mapping]] = ...) -> None: ...

class BatchAnalogyResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AnalogyResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[AnalogyResponse, _Mapping]]] = ...) -> None: ...

class NearestRequest(_message.Message):
    __slots__ = ("space", "query", "k", "options")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    space: str
    query: _containers.RepeatedCompositeFieldContainer[Term]
    k: int
    options: QueryOptions
    def __init__(self, space: _Optional[str] = ..., query: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., k: _Optional[int] = ..., options: _Optional[_Union[QueryOptions, _Mapping]] = ...) -> None: ...

class NearestResponse(_message.Message):
    __slots__ = ("space", "neighbors", "query", "searched_with")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    SEARCHED_WITH_FIELD_NUMBER: _ClassVar[int]
    space: str
    neighbors: _containers.RepeatedCompositeFieldContainer[Neighbor]
    query: _containers.RepeatedCompositeFieldContainer[ResolvedTerm]
    searched_with: IndexState
    def __init__(self, space: _Optional[str] = ..., neighbors: _Optional[_Iterable[_Union[Neighbor, _Mapping]]] = ..., query: _Optional[_Iterable[_Union[ResolvedTerm, _Mapping]]] = ..., searched_with: _Optional[_Union[IndexState, str]] = ...) -> None: ...

class NearestQuery(_message.Message):
    __slots__ = ("query",)
    QUERY_FIELD_NUMBER: _ClassVar[int]
    query: _containers.RepeatedCompositeFieldContainer[Term]
    def __init__(self, query: _Optional[_Iterable[_Union[Term, _Mapping]]] = ...) -> None: ...

class BatchNearestRequest(_message.Message):
    __slots__ = ("space", "queries", "k", "options")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    space: str
    queries: _containers.RepeatedCompositeFieldContainer[NearestQuery]
    k: int
    options: QueryOptions
    def __init__(self, space: _Optional[str] = ..., queries: _Optional[_Iterable[_Union[NearestQuery, _Mapping]]] = ..., k: _Optional[int] = ..., options: _Optional[_Union[QueryOptions, _Mapping]] = ...) -> None: ...

class BatchNearestResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[NearestResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[NearestResponse, _Mapping]]] = ...) -> None: ...

class InterpolateRequest(_message.Message):
    __slots__ = ("space", "start", "end", "steps", "path", "k", "options", "vector_format")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FORMAT_FIELD_NUMBER: _ClassVar[int]
    space: str
    start: Term
    end: Term
    steps: int
    path: InterpolationPath
    k: int
    options: QueryOptions
    vector_format: VectorFormat
    def __init__(self, space: _Optional[str] = ..., start: _Optional[_Union[Term, _Mapping]] = ..., end: _Optional[_Union[Term, _Mapping]] = ..., steps: _Optional[int] = ..., path: _Optional[_Union[InterpolationPath, str]] = ..., k: _Optional[int] = ..., options: _Optional[_Union[QueryOptions, _Mapping]] = ..., vector_format: _Optional[_Union[VectorFormat, str]] = ...) -> None: ...

class InterpolationPoint(_message.Message):
    __slots__ = ("t", "vector", "neighbors")
    T_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    t: float
    vector: Vector
    neighbors: _containers.RepeatedCompositeFieldContainer[Neighbor]
    def __init__(self, t: _Optional[float] = ..., vector: _Optional[_Union[Vector, _Mapping]] = ..., neighbors: _Optional[_Iterable[_Union[Neighbor, _Mapping]]] = ...) -> None: ...

class InterpolateResponse(_message.Message):
    __slots__ = ("space", "points", "start", "end", "searched_with")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SEARCHED_WITH_FIELD_NUMBER: _ClassVar[int]
    space: str
    points: _containers.RepeatedCompositeFieldContainer[InterpolationPoint]
    start: ResolvedTerm
    end: ResolvedTerm
    searched_with: IndexState
    def __init__(self, space: _Optional[str] = ..., points: _Optional[_Iterable[_Union[InterpolationPoint, _Mapping]]] = ..., start: _Optional[_Union[ResolvedTerm, _Mapping]] = ..., end: _Optional[_Union[ResolvedTerm, _Mapping]] = ..., searched_with: _Optional[_Union[IndexState, str]] = ...) -> None: ...

class SimilarityRequest(_message.Message):
    __slots__ = ("space", "a", "b", "remove")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    space: str
    a: _containers.RepeatedCompositeFieldContainer[Term]
    b: _containers.RepeatedCompositeFieldContainer[Term]
    remove: _containers.RepeatedCompositeFieldContainer[Direction]
    def __init__(self, space: _Optional[str] = ..., a: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., b: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., remove: _Optional[_Iterable[_Union[Direction, _Mapping]]] = ...) -> None: ...

class SimilarityResponse(_message.Message):
    __slots__ = ("space", "rows", "cols", "scores", "a", "b")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    COLS_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    space: str
    rows: int
    cols: int
    scores: _containers.RepeatedScalarFieldContainer[float]
    a: _containers.RepeatedCompositeFieldContainer[ResolvedTerm]
    b: _containers.RepeatedCompositeFieldContainer[ResolvedTerm]
    def __init__(self, space: _Optional[str] = ..., rows: _Optional[int] = ..., cols: _Optional[int] = ..., scores: _Optional[_Iterable[float]] = ..., a: _Optional[_Iterable[_Union[ResolvedTerm, _Mapping]]] = ..., b: _Optional[_Iterable[_Union[ResolvedTerm, _Mapping]]] = ...) -> None: ...

class DoesntMatchRequest(_message.Message):
    __slots__ = ("space", "terms")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    space: str
    terms: _containers.RepeatedCompositeFieldContainer[Term]
    def __init__(self, space: _Optional[str] = ..., terms: _Optional[_Iterable[_Union[Term, _Mapping]]] = ...) -> None: ...

class DoesntMatchResponse(_message.Message):
    __slots__ = ("space", "index", "key", "score", "terms")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    space: str
    index: int
    key: str
    score: float
    terms: _containers.RepeatedCompositeFieldContainer[ResolvedTerm]
    def __init__(self, space: _Optional[str] = ..., index: _Optional[int] = ..., key: _Optional[str] = ..., score: _Optional[float] = ..., terms: _Optional[_Iterable[_Union[ResolvedTerm, _Mapping]]] = ...) -> None: ...

class TermPair(_message.Message):
    __slots__ = ("a", "b")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    a: Term
    b: Term
    def __init__(self, a: _Optional[_Union[Term, _Mapping]] = ..., b: _Optional[_Union[Term, _Mapping]] = ...) -> None: ...

class DirectionPairs(_message.Message):
    __slots__ = ("pairs", "method")
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    pairs: _containers.RepeatedCompositeFieldContainer[TermPair]
    method: DirectionMethod
    def __init__(self, pairs: _Optional[_Iterable[_Union[TermPair, _Mapping]]] = ..., method: _Optional[_Union[DirectionMethod, str]] = ...) -> None: ...

class DirectionPoles(_message.Message):
    __slots__ = ("from_terms", "to_terms")
    FROM_TERMS_FIELD_NUMBER: _ClassVar[int]
    TO_TERMS_FIELD_NUMBER: _ClassVar[int]
    from_terms: _containers.RepeatedCompositeFieldContainer[Term]
    to_terms: _containers.RepeatedCompositeFieldContainer[Term]
    def __init__(self, from_terms: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., to_terms: _Optional[_Iterable[_Union[Term, _Mapping]]] = ...) -> None: ...

class Direction(_message.Message):
    __slots__ = ("pairs", "poles", "vector", "name")
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    POLES_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    pairs: DirectionPairs
    poles: DirectionPoles
    vector: Vector
    name: str
    def __init__(self, pairs: _Optional[_Union[DirectionPairs, _Mapping]] = ..., poles: _Optional[_Union[DirectionPoles, _Mapping]] = ..., vector: _Optional[_Union[Vector, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class DefineRequest(_message.Message):
    __slots__ = ("space", "direction", "vector_format")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FORMAT_FIELD_NUMBER: _ClassVar[int]
    space: str
    direction: Direction
    vector_format: VectorFormat
    def __init__(self, space: _Optional[str] = ..., direction: _Optional[_Union[Direction, _Mapping]] = ..., vector_format: _Optional[_Union[VectorFormat, str]] = ...) -> None: ...

class DefineResponse(_message.Message):
    __slots__ = ("space", "vector", "explained_variance", "pair_cosines", "from_projections", "to_projections", "name")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    EXPLAINED_VARIANCE_FIELD_NUMBER: _ClassVar[int]
    PAIR_COSINES_FIELD_NUMBER: _ClassVar[int]
    FROM_PROJECTIONS_FIELD_NUMBER: _ClassVar[int]
    TO_PROJECTIONS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    space: str
    vector: Vector
    explained_variance: float
    pair_cosines: _containers.RepeatedScalarFieldContainer[float]
    from_projections: _containers.RepeatedScalarFieldContainer[float]
    to_projections: _containers.RepeatedScalarFieldContainer[float]
    name: str
    def __init__(self, space: _Optional[str] = ..., vector: _Optional[_Union[Vector, _Mapping]] = ..., explained_variance: _Optional[float] = ..., pair_cosines: _Optional[_Iterable[float]] = ..., from_projections: _Optional[_Iterable[float]] = ..., to_projections: _Optional[_Iterable[float]] = ..., name: _Optional[str] = ...) -> None: ...

class SaveDirectionRequest(_message.Message):
    __slots__ = ("space", "name", "direction", "description", "overwrite")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    space: str
    name: str
    direction: Direction
    description: str
    overwrite: bool
    def __init__(self, space: _Optional[str] = ..., name: _Optional[str] = ..., direction: _Optional[_Union[Direction, _Mapping]] = ..., description: _Optional[str] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class SavedDirection(_message.Message):
    __slots__ = ("space", "name", "definition", "description", "explained_variance", "vector", "from_config")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    EXPLAINED_VARIANCE_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    FROM_CONFIG_FIELD_NUMBER: _ClassVar[int]
    space: str
    name: str
    definition: Direction
    description: str
    explained_variance: float
    vector: Vector
    from_config: bool
    def __init__(self, space: _Optional[str] = ..., name: _Optional[str] = ..., definition: _Optional[_Union[Direction, _Mapping]] = ..., description: _Optional[str] = ..., explained_variance: _Optional[float] = ..., vector: _Optional[_Union[Vector, _Mapping]] = ..., from_config: _Optional[bool] = ...) -> None: ...

class ListDirectionsRequest(_message.Message):
    __slots__ = ("space", "with_vector", "vector_format")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    WITH_VECTOR_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FORMAT_FIELD_NUMBER: _ClassVar[int]
    space: str
    with_vector: bool
    vector_format: VectorFormat
    def __init__(self, space: _Optional[str] = ..., with_vector: _Optional[bool] = ..., vector_format: _Optional[_Union[VectorFormat, str]] = ...) -> None: ...

class ListDirectionsResponse(_message.Message):
    __slots__ = ("directions",)
    DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    directions: _containers.RepeatedCompositeFieldContainer[SavedDirection]
    def __init__(self, directions: _Optional[_Iterable[_Union[SavedDirection, _Mapping]]] = ...) -> None: ...

class DeleteDirectionRequest(_message.Message):
    __slots__ = ("space", "name")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    space: str
    name: str
    def __init__(self, space: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteDirectionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ProjectRequest(_message.Message):
    __slots__ = ("space", "direction", "terms", "top", "restrict", "filter")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    TOP_FIELD_NUMBER: _ClassVar[int]
    RESTRICT_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    space: str
    direction: Direction
    terms: _containers.RepeatedCompositeFieldContainer[Term]
    top: int
    restrict: int
    filter: Filter
    def __init__(self, space: _Optional[str] = ..., direction: _Optional[_Union[Direction, _Mapping]] = ..., terms: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., top: _Optional[int] = ..., restrict: _Optional[int] = ..., filter: _Optional[_Union[Filter, _Mapping]] = ...) -> None: ...

class Projection(_message.Message):
    __slots__ = ("term", "projection")
    TERM_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    term: ResolvedTerm
    projection: float
    def __init__(self, term: _Optional[_Union[ResolvedTerm, _Mapping]] = ..., projection: _Optional[float] = ...) -> None: ...

class ProjectResponse(_message.Message):
    __slots__ = ("space", "projections", "from_end", "to_end")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    PROJECTIONS_FIELD_NUMBER: _ClassVar[int]
    FROM_END_FIELD_NUMBER: _ClassVar[int]
    TO_END_FIELD_NUMBER: _ClassVar[int]
    space: str
    projections: _containers.RepeatedCompositeFieldContainer[Projection]
    from_end: _containers.RepeatedCompositeFieldContainer[Neighbor]
    to_end: _containers.RepeatedCompositeFieldContainer[Neighbor]
    def __init__(self, space: _Optional[str] = ..., projections: _Optional[_Iterable[_Union[Projection, _Mapping]]] = ..., from_end: _Optional[_Iterable[_Union[Neighbor, _Mapping]]] = ..., to_end: _Optional[_Iterable[_Union[Neighbor, _Mapping]]] = ...) -> None: ...

class NavigateRequest(_message.Message):
    __slots__ = ("space", "start", "direction", "steps", "step", "target", "k", "options", "vector_format")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FORMAT_FIELD_NUMBER: _ClassVar[int]
    space: str
    start: Term
    direction: Direction
    steps: int
    step: float
    target: float
    k: int
    options: QueryOptions
    vector_format: VectorFormat
    def __init__(self, space: _Optional[str] = ..., start: _Optional[_Union[Term, _Mapping]] = ..., direction: _Optional[_Union[Direction, _Mapping]] = ..., steps: _Optional[int] = ..., step: _Optional[float] = ..., target: _Optional[float] = ..., k: _Optional[int] = ..., options: _Optional[_Union[QueryOptions, _Mapping]] = ..., vector_format: _Optional[_Union[VectorFormat, str]] = ...) -> None: ...

class NavigationPoint(_message.Message):
    __slots__ = ("offset", "projection", "vector", "neighbors")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    offset: float
    projection: float
    vector: Vector
    neighbors: _containers.RepeatedCompositeFieldContainer[Neighbor]
    def __init__(self, offset: _Optional[float] = ..., projection: _Optional[float] = ..., vector: _Optional[_Union[Vector, _Mapping]] = ..., neighbors: _Optional[_Iterable[_Union[Neighbor, _Mapping]]] = ...) -> None: ...

class NavigateResponse(_message.Message):
    __slots__ = ("space", "points", "start", "searched_with")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    SEARCHED_WITH_FIELD_NUMBER: _ClassVar[int]
    space: str
    points: _containers.RepeatedCompositeFieldContainer[NavigationPoint]
    start: ResolvedTerm
    searched_with: IndexState
    def __init__(self, space: _Optional[str] = ..., points: _Optional[_Iterable[_Union[NavigationPoint, _Mapping]]] = ..., start: _Optional[_Union[ResolvedTerm, _Mapping]] = ..., searched_with: _Optional[_Union[IndexState, str]] = ...) -> None: ...

class AssociateRequest(_message.Message):
    __slots__ = ("space", "targets_x", "targets_y", "attributes_a", "attributes_b", "permutations", "seed")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_X_FIELD_NUMBER: _ClassVar[int]
    TARGETS_Y_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_A_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_B_FIELD_NUMBER: _ClassVar[int]
    PERMUTATIONS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    space: str
    targets_x: _containers.RepeatedCompositeFieldContainer[Term]
    targets_y: _containers.RepeatedCompositeFieldContainer[Term]
    attributes_a: _containers.RepeatedCompositeFieldContainer[Term]
    attributes_b: _containers.RepeatedCompositeFieldContainer[Term]
    permutations: int
    seed: int
    def __init__(self, space: _Optional[str] = ..., targets_x: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., targets_y: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., attributes_a: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., attributes_b: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., permutations: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class AssociateResponse(_message.Message):
    __slots__ = ("space", "effect_size", "p_value", "statistic", "exact", "partitions", "x_associations", "y_associations")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    EFFECT_SIZE_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    STATISTIC_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    PARTITIONS_FIELD_NUMBER: _ClassVar[int]
    X_ASSOCIATIONS_FIELD_NUMBER: _ClassVar[int]
    Y_ASSOCIATIONS_FIELD_NUMBER: _ClassVar[int]
    space: str
    effect_size: float
    p_value: float
    statistic: float
    exact: bool
    partitions: int
    x_associations: _containers.RepeatedScalarFieldContainer[float]
    y_associations: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, space: _Optional[str] = ..., effect_size: _Optional[float] = ..., p_value: _Optional[float] = ..., statistic: _Optional[float] = ..., exact: _Optional[bool] = ..., partitions: _Optional[int] = ..., x_associations: _Optional[_Iterable[float]] = ..., y_associations: _Optional[_Iterable[float]] = ...) -> None: ...

class ComponentsRequest(_message.Message):
    __slots__ = ("space", "terms", "n", "vector_format")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FORMAT_FIELD_NUMBER: _ClassVar[int]
    space: str
    terms: _containers.RepeatedCompositeFieldContainer[Term]
    n: int
    vector_format: VectorFormat
    def __init__(self, space: _Optional[str] = ..., terms: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., n: _Optional[int] = ..., vector_format: _Optional[_Union[VectorFormat, str]] = ...) -> None: ...

class Component(_message.Message):
    __slots__ = ("vector", "explained_variance", "terms")
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    EXPLAINED_VARIANCE_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    vector: Vector
    explained_variance: float
    terms: _containers.RepeatedCompositeFieldContainer[Projection]
    def __init__(self, vector: _Optional[_Union[Vector, _Mapping]] = ..., explained_variance: _Optional[float] = ..., terms: _Optional[_Iterable[_Union[Projection, _Mapping]]] = ...) -> None: ...

class ComponentsResponse(_message.Message):
    __slots__ = ("space", "components")
    SPACE_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    space: str
    components: _containers.RepeatedCompositeFieldContainer[Component]
    def __init__(self, space: _Optional[str] = ..., components: _Optional[_Iterable[_Union[Component, _Mapping]]] = ...) -> None: ...

class HnswConfig(_message.Message):
    __slots__ = ("m", "ef_construction")
    M_FIELD_NUMBER: _ClassVar[int]
    EF_CONSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    m: int
    ef_construction: int
    def __init__(self, m: _Optional[int] = ..., ef_construction: _Optional[int] = ...) -> None: ...

class CreateCollectionRequest(_message.Message):
    __slots__ = ("name", "model", "dimension", "metric", "hnsw", "exist_ok", "backend")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    HNSW_FIELD_NUMBER: _ClassVar[int]
    EXIST_OK_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    dimension: int
    metric: Metric
    hnsw: HnswConfig
    exist_ok: bool
    backend: str
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., dimension: _Optional[int] = ..., metric: _Optional[_Union[Metric, str]] = ..., hnsw: _Optional[_Union[HnswConfig, _Mapping]] = ..., exist_ok: _Optional[bool] = ..., backend: _Optional[str] = ...) -> None: ...

class CollectionInfo(_message.Message):
    __slots__ = ("name", "model", "dimension", "metric", "hnsw", "count", "index_state", "disk_bytes", "backend")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    HNSW_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    INDEX_STATE_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    dimension: int
    metric: Metric
    hnsw: HnswConfig
    count: int
    index_state: IndexState
    disk_bytes: int
    backend: str
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., dimension: _Optional[int] = ..., metric: _Optional[_Union[Metric, str]] = ..., hnsw: _Optional[_Union[HnswConfig, _Mapping]] = ..., count: _Optional[int] = ..., index_state: _Optional[_Union[IndexState, str]] = ..., disk_bytes: _Optional[int] = ..., backend: _Optional[str] = ...) -> None: ...

class GetCollectionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListCollectionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCollectionsResponse(_message.Message):
    __slots__ = ("collections",)
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    collections: _containers.RepeatedCompositeFieldContainer[CollectionInfo]
    def __init__(self, collections: _Optional[_Iterable[_Union[CollectionInfo, _Mapping]]] = ...) -> None: ...

class DeleteCollectionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteCollectionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Document(_message.Message):
    __slots__ = ("id", "text", "vector", "metadata")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    vector: Vector
    metadata: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., vector: _Optional[_Union[Vector, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class UpsertRequest(_message.Message):
    __slots__ = ("collection", "documents")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    collection: str
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    def __init__(self, collection: _Optional[str] = ..., documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ...) -> None: ...

class UpsertResponse(_message.Message):
    __slots__ = ("upserted",)
    UPSERTED_FIELD_NUMBER: _ClassVar[int]
    upserted: int
    def __init__(self, upserted: _Optional[int] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("collection", "ids", "with_vector", "vector_format")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    WITH_VECTOR_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FORMAT_FIELD_NUMBER: _ClassVar[int]
    collection: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    with_vector: bool
    vector_format: VectorFormat
    def __init__(self, collection: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ..., with_vector: _Optional[bool] = ..., vector_format: _Optional[_Union[VectorFormat, str]] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("documents", "missing")
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    missing: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., missing: _Optional[_Iterable[str]] = ...) -> None: ...

class Condition(_message.Message):
    __slots__ = ("key", "equals", "range", "exists")
    KEY_FIELD_NUMBER: _ClassVar[int]
    EQUALS_FIELD_NUMBER: _ClassVar[int]
    IN_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    key: str
    equals: _struct_pb2.Value
    range: Range
    exists: bool
    def __init__(self, key: _Optional[str] = ..., equals: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., range: _Optional[_Union[Range, _Mapping]] = ..., exists: _Optional[bool] = ..., **kwargs) -> None: ...

class Range(_message.Message):
    __slots__ = ("gt", "gte", "lt", "lte")
    GT_FIELD_NUMBER: _ClassVar[int]
    GTE_FIELD_NUMBER: _ClassVar[int]
    LT_FIELD_NUMBER: _ClassVar[int]
    LTE_FIELD_NUMBER: _ClassVar[int]
    gt: float
    gte: float
    lt: float
    lte: float
    def __init__(self, gt: _Optional[float] = ..., gte: _Optional[float] = ..., lt: _Optional[float] = ..., lte: _Optional[float] = ...) -> None: ...

class Filter(_message.Message):
    __slots__ = ("condition", "all", "any", "none")
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    ANY_FIELD_NUMBER: _ClassVar[int]
    NONE_FIELD_NUMBER: _ClassVar[int]
    condition: Condition
    all: _containers.RepeatedCompositeFieldContainer[Filter]
    any: _containers.RepeatedCompositeFieldContainer[Filter]
    none: _containers.RepeatedCompositeFieldContainer[Filter]
    def __init__(self, condition: _Optional[_Union[Condition, _Mapping]] = ..., all: _Optional[_Iterable[_Union[Filter, _Mapping]]] = ..., any: _Optional[_Iterable[_Union[Filter, _Mapping]]] = ..., none: _Optional[_Iterable[_Union[Filter, _Mapping]]] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("collection", "ids", "filter")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    collection: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    filter: Filter
    def __init__(self, collection: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ..., filter: _Optional[_Union[Filter, _Mapping]] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class CountRequest(_message.Message):
    __slots__ = ("collection", "filter")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    collection: str
    filter: Filter
    def __init__(self, collection: _Optional[str] = ..., filter: _Optional[_Union[Filter, _Mapping]] = ...) -> None: ...

class CountResponse(_message.Message):
    __slots__ = ("count",)
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class ScrollRequest(_message.Message):
    __slots__ = ("collection", "filter", "page_token", "limit", "with_vector", "vector_format")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    WITH_VECTOR_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FORMAT_FIELD_NUMBER: _ClassVar[int]
    collection: str
    filter: Filter
    page_token: str
    limit: int
    with_vector: bool
    vector_format: VectorFormat
    def __init__(self, collection: _Optional[str] = ..., filter: _Optional[_Union[Filter, _Mapping]] = ..., page_token: _Optional[str] = ..., limit: _Optional[int] = ..., with_vector: _Optional[bool] = ..., vector_format: _Optional[_Union[VectorFormat, str]] = ...) -> None: ...

class ScrollResponse(_message.Message):
    __slots__ = ("documents", "next_page_token")
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    next_page_token: str
    def __init__(self, documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SearchQuery(_message.Message):
    __slots__ = ("text", "vector", "id", "positive", "negative")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_FIELD_NUMBER: _ClassVar[int]
    text: str
    vector: Vector
    id: str
    positive: _containers.RepeatedCompositeFieldContainer[Term]
    negative: _containers.RepeatedCompositeFieldContainer[Term]
    def __init__(self, text: _Optional[str] = ..., vector: _Optional[_Union[Vector, _Mapping]] = ..., id: _Optional[str] = ..., positive: _Optional[_Iterable[_Union[Term, _Mapping]]] = ..., negative: _Optional[_Iterable[_Union[Term, _Mapping]]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("collection", "query", "k", "filter", "options", "with_text", "with_metadata", "with_vector", "score_threshold", "vector_format")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    WITH_TEXT_FIELD_NUMBER: _ClassVar[int]
    WITH_METADATA_FIELD_NUMBER: _ClassVar[int]
    WITH_VECTOR_FIELD_NUMBER: _ClassVar[int]
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FORMAT_FIELD_NUMBER: _ClassVar[int]
    collection: str
    query: SearchQuery
    k: int
    filter: Filter
    options: QueryOptions
    with_text: bool
    with_metadata: bool
    with_vector: bool
    score_threshold: float
    vector_format: VectorFormat
    def __init__(self, collection: _Optional[str] = ..., query: _Optional[_Union[SearchQuery, _Mapping]] = ..., k: _Optional[int] = ..., filter: _Optional[_Union[Filter, _Mapping]] = ..., options: _Optional[_Union[QueryOptions, _Mapping]] = ..., with_text: _Optional[bool] = ..., with_metadata: _Optional[bool] = ..., with_vector: _Optional[bool] = ..., score_threshold: _Optional[float] = ..., vector_format: _Optional[_Union[VectorFormat, str]] = ...) -> None: ...

class Hit(_message.Message):
    __slots__ = ("id", "score", "text", "metadata", "vector")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    id: str
    score: float
    text: str
    metadata: _struct_pb2.Struct
    vector: Vector
    def __init__(self, id: _Optional[str] = ..., score: _Optional[float] = ..., text: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., vector: _Optional[_Union[Vector, _Mapping]] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("collection", "hits", "searched_with")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    SEARCHED_WITH_FIELD_NUMBER: _ClassVar[int]
    collection: str
    hits: _containers.RepeatedCompositeFieldContainer[Hit]
    searched_with: IndexState
    def __init__(self, collection: _Optional[str] = ..., hits: _Optional[_Iterable[_Union[Hit, _Mapping]]] = ..., searched_with: _Optional[_Union[IndexState, str]] = ...) -> None: ...

class BatchSearchRequest(_message.Message):
    __slots__ = ("collection", "queries", "k", "filter", "options", "with_text", "with_metadata", "with_vector", "score_threshold", "vector_format")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    WITH_TEXT_FIELD_NUMBER: _ClassVar[int]
    WITH_METADATA_FIELD_NUMBER: _ClassVar[int]
    WITH_VECTOR_FIELD_NUMBER: _ClassVar[int]
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FORMAT_FIELD_NUMBER: _ClassVar[int]
    collection: str
    queries: _containers.RepeatedCompositeFieldContainer[SearchQuery]
    k: int
    filter: Filter
    options: QueryOptions
    with_text: bool
    with_metadata: bool
    with_vector: bool
    score_threshold: float
    vector_format: VectorFormat
    def __init__(self, collection: _Optional[str] = ..., queries: _Optional[_Iterable[_Union[SearchQuery, _Mapping]]] = ..., k: _Optional[int] = ..., filter: _Optional[_Union[Filter, _Mapping]] = ..., options: _Optional[_Union[QueryOptions, _Mapping]] = ..., with_text: _Optional[bool] = ..., with_metadata: _Optional[bool] = ..., with_vector: _Optional[bool] = ..., score_threshold: _Optional[float] = ..., vector_format: _Optional[_Union[VectorFormat, str]] = ...) -> None: ...

class BatchSearchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SearchResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[SearchResponse, _Mapping]]] = ...) -> None: ...
