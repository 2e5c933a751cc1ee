"""What crosses from the student's kernel to the grader's trusted process, and what does not
(autograder/crossing.py), without a kernel: the writer and the reader on the two sides of a folder."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from autograder import crossing


def _cross(tmp_path, value, **reader):
    folder = tmp_path / f"x{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    crossing.write(value, str(folder), handle=lambda f: 7)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        r = crossing.Reader(fd, function=lambda handle, name: ("remote", handle, name), **reader)
        return r.value(), r
    finally:
        os.close(fd)


def test_plain_values_arrays_and_containers_come_back_equal(tmp_path):
    value = {
        "n": 3,
        "x": 0.25,
        "nan": float("nan"),
        "s": "text",
        "flag": True,
        "none": None,
        (1, 2): [1, (2, 3)],
        "a": np.arange(6, dtype="float32").reshape(2, 3),
        "scalar": np.float32(0.5),
        "names": np.array(["a", "bb"]),
    }
    back, _ = _cross(tmp_path, value)
    assert back["n"] == 3 and back["x"] == 0.25 and np.isnan(back["nan"]) and back["s"] == "text"
    assert back["flag"] is True and back["none"] is None and back[(1, 2)] == [1, (2, 3)]
    np.testing.assert_array_equal(back["a"], value["a"])
    assert back["a"].dtype == np.float32 and type(back["scalar"]) is np.float32
    assert back["names"].tolist() == ["a", "bb"]


def test_tables_come_back_with_their_index_and_columns(tmp_path):
    frame = pd.DataFrame({"scratch": [0.3, 0.5], "fine-tuned": [0.4, 0.7]}, index=[10, 50])
    series = pd.Series([0.9, 0.8], index=["COVID-19", "macro"], name="auc")
    back, _ = _cross(tmp_path, [frame, series])
    pd.testing.assert_frame_equal(back[0], frame)
    pd.testing.assert_series_equal(back[1], series)


def test_the_courses_result_objects_come_back_as_the_genuine_class(tmp_path):
    from course.train import TrainResult

    result = TrainResult({"accuracy": [0.5, 0.9]}, 12.5, [6.0, 6.5], 100.0, 2, 600)
    back, _ = _cross(tmp_path, result)
    assert type(back) is TrainResult and back == result


def test_lying_objects_lose_their_methods(tmp_path):
    class Agrees(np.ndarray):
        def __eq__(self, other):
            return True

    class Claims:
        def __eq__(self, other):
            return True

        def __call__(self):
            return 1.0

    back, reader = _cross(tmp_path, {"array": np.zeros(3).view(Agrees), "claims": Claims(), "n": Claims})
    assert type(back["array"]) is np.ndarray and not (back["array"] == np.ones(3)).any()
    with pytest.raises(AssertionError, match="object of class Claims, which the grader cannot take"):
        back["claims"] == 1  # noqa: B015
    with pytest.raises(AssertionError):
        bool(back["n"])
    assert len(reader.refused) == 2


def test_functions_cross_as_handles(tmp_path):
    def pad_images(x):
        return x

    back, _ = _cross(tmp_path, pad_images)
    assert back == ("remote", 7, "pad_images")


def _model(lambda_layer: bool):
    import keras

    layers = [keras.Input((4,)), keras.layers.Dense(3, name="d")]
    if lambda_layer:
        layers.insert(1, keras.layers.Lambda(lambda t: t * 2.0))
    return keras.Sequential(layers)


def test_a_keras_model_is_rebuilt_with_its_weights(tmp_path):
    model = _model(False)
    back, _ = _cross(tmp_path, model)
    assert back is not model and back.count_params() == model.count_params()
    for a, b in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_a_course_layer_crosses_and_a_lambda_layer_is_refused(tmp_path):
    import keras

    from course.models.layers import LocalResponseNorm

    with_course_layer = keras.Sequential([keras.Input((4, 4, 3)), LocalResponseNorm()])
    back, _ = _cross(tmp_path, with_course_layer)
    assert isinstance(back.layers[0], LocalResponseNorm)
    back, reader = _cross(tmp_path, _model(True))
    with pytest.raises(AssertionError, match="Lambda layer, which carries Python code"):
        back.count_params()
    assert reader.refused


def test_a_model_naming_code_outside_keras_is_refused():
    config = {"module": "os", "class_name": "system", "config": {}, "registered_name": None}
    with pytest.raises(crossing.ModelRefused, match="not part of Keras"):
        crossing.check_model_config({"module": "keras", "class_name": "Sequential", "config": {"layers": [config]}})


def test_only_the_courses_dataclasses_are_rebuilt():
    with pytest.raises(crossing.CrossingError):
        crossing.course_class("subprocess:Popen")
    with pytest.raises(crossing.CrossingError):
        crossing.course_class("course.train:fit")  # a function, not a result class
    assert crossing.course_class("course.train:TrainResult").__name__ == "TrainResult"


def _reader(folder) -> crossing.Reader:
    return crossing.Reader(os.open(folder, os.O_RDONLY | os.O_DIRECTORY))


def test_the_reader_refuses_links_foreign_names_and_malformed_trees(tmp_path):
    secret = tmp_path / "secret.npy"
    np.save(secret, np.arange(3))
    folder = tmp_path / "answer"
    folder.mkdir()
    os.symlink(secret, folder / "f1.npy")
    reader = _reader(folder)
    with pytest.raises(crossing.CrossingError, match="missing"):  # O_NOFOLLOW: a link is not followed
        reader.value({"array": "f1.npy"})
    with pytest.raises(crossing.CrossingError, match="not the grader's"):
        reader.value({"array": "../secret.npy"})
    for tree in ({"value": [1]}, {"dict": [[1]]}, {"eval": "1"}, [], {"list": "abc"}):
        with pytest.raises(crossing.CrossingError):
            reader.value(tree)
    nested = {"value": 1}
    for _ in range(crossing.MAX_DEPTH + 5):
        nested = {"list": [nested]}
    with pytest.raises(crossing.CrossingError, match="too deeply"):
        reader.value(nested)


def test_the_reader_refuses_files_of_another_owner_and_pickles(tmp_path):
    folder = tmp_path / "answer"
    folder.mkdir()
    np.save(folder / "f1.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(crossing.CrossingError, match="not a NumPy array file"):
        _reader(folder).value({"array": "f1.npy"})
    np.save(folder / "f2.npy", np.arange(3))
    other = crossing.Reader(os.open(folder, os.O_RDONLY | os.O_DIRECTORY), owner=os.getuid() + 1)
    with pytest.raises(crossing.CrossingError, match="not a plain file written by the kernel"):
        other.value({"array": "f2.npy"})


def test_generators_and_open_files_fail_saying_what_to_return_instead(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("data")
    with open(path) as handle:
        back, _ = _cross(tmp_path, {"gen": (k for k in range(3)), "file": handle})
    with pytest.raises(AssertionError, match=r"return a list or an array \(list\(\.\.\.\) of it\)"):
        list(back["gen"])
    with pytest.raises(AssertionError, match="return what you read from the file, not the open file"):
        back["file"].read()
