"""SUN-SEG video metrics: hand-computed frames, VPS ordering/dropping/averaging, and agreement with
a straightforward re-implementation of GewelsJI/VPS ``eval/vps_evaluator.py`` (REFERENCE.md §5)."""
from __future__ import annotations

import glob
import os
import warnings

import cv2
import numpy as np
import py_sod_metrics as psm
import pytest
from py_sod_metrics.utils import prepare_data

from autosam.metrics import (
    METRIC_NAMES,
    aggregate_cases,
    evaluate_case,
    evaluate_case_arrays,
    evaluate_dataset,
    evaluate_video_roots,
    find_video_datasets,
    frame_metrics,
    frame_sort_key,
    prepare_frame,
    sort_frames,
)

pytestmark = pytest.mark.filterwarnings("ignore:This class will be removed")
THRESHOLDS = np.linspace(1, 0, 256)


# ----------------------------------------------------------------------------- reference (VPS loop)
def sunseg_name(clip: int, a: int, image: int) -> str:
    return f"case_M_20181001100941_0U62372100109341_1_005_{clip:03d}-1_a{a}_ayy_image{image:04d}.png"


def vps_sort(case_dir: str) -> list[str]:
    names = glob.glob(case_dir + "/*.png")
    try:
        names.sort(key=lambda n: (int(n.split("/")[-2]), int(n.split("/")[-1].rstrip(".png"))))
    except ValueError:
        names.sort(key=lambda n: (
            int(n.split("/")[-2].split("case")[1].split("_")[0]),
            0 if not len(n.split("/")[-2].split("_")) > 1 else int(n.split("/")[-2].split("_")[1]),
            int(n.split("/")[-1].split("-")[0].split("_")[-1]),
            int(n.split("/")[-1].split("_a")[1].split("_")[0]),
            int(n.split("/")[-1].split("_image")[1].split(".png")[0])))
    return names


def naive_dice_sen(pred_u8: np.ndarray, gt_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """VPS ``Medical.Fmeasure_calu`` loop over 256 thresholds."""
    pred, gt = prepare_data(pred_u8, gt_u8)
    dice, sen = np.zeros(256), np.zeros(256)
    for j, t in enumerate(THRESHOLDS):
        label = pred >= t
        num_and = np.sum(label & gt)
        if num_and == 0:
            continue
        dice[j] = 2 * num_and / (np.sum(gt) + np.sum(label))
        sen[j] = num_and / np.sum(gt)
    return dice, sen


def vps_reference(gt_dataset_dir: str, pred_dataset_dir: str) -> dict[str, float]:
    """The VPS evaluator, straightforwardly: cv2 reads, pysodmetrics S/E/wF/F, a Dice/Sen loop."""
    gt_src = os.path.join(gt_dataset_dir, "GT")
    rows = []
    for case in os.listdir(gt_src):
        names = vps_sort(os.path.join(gt_src, case))[1:-1]
        sm, em, wfm, fm = psm.Smeasure(), psm.Emeasure(), psm.WeightedFmeasure(), psm.Fmeasure()
        dices, sens = [], []
        for gt_path in names:
            pred = cv2.imread(gt_path.replace(gt_src, pred_dataset_dir), cv2.IMREAD_GRAYSCALE)
            gt = cv2.imread(gt_path, cv2.IMREAD_GRAYSCALE)
            if pred.shape != gt.shape:
                pred = cv2.resize(pred, (gt.shape[1], gt.shape[0]))
            for m in (sm, em, wfm, fm):
                m.step(pred, gt)
            d, s = naive_dice_sen(pred, gt)
            dices.append(d)
            sens.append(s)
        rows.append([[sm.get_results()["sm"]] * 256, em.get_results()["em"]["curve"],
                     [wfm.get_results()["wfm"]] * 256, fm.get_results()["fm"]["curve"],
                     np.mean(dices, axis=0), np.mean(sens, axis=0)])
    r = np.mean(np.array(rows), axis=0)
    return {"Smeasure": r[0].mean(), "meanEm": r[1].mean(), "wFmeasure": r[2].mean(),
            "meanFm": r[3].mean(), "maxDice": r[4].max(), "meanDice": r[4].mean(), "meanSen": r[5].mean()}


def vps_smeasure(pred_u8: np.ndarray, gt_u8: np.ndarray) -> float:
    """GewelsJI/VPS ``metrics.Smeasure`` transcribed (differs from pysodmetrics on degenerate GT)."""
    pred, gt = prepare_data(pred_u8, gt_u8)
    eps = np.spacing(1)

    def s_object(p, g):
        x = np.mean(p[g == 1])
        return 2 * x / (np.power(x, 2) + 1 + np.std(p[g == 1], ddof=1) + eps)

    def ssim(p, g):
        n = p.shape[0] * p.shape[1]
        x, y = np.mean(p), np.mean(g)
        sx, sy = np.sum((p - x) ** 2) / (n - 1), np.sum((g - y) ** 2) / (n - 1)
        sxy = np.sum((p - x) * (g - y)) / (n - 1)
        alpha, beta = 4 * x * y * sxy, (x ** 2 + y ** 2) * (sx + sy)
        return alpha / (beta + eps) if alpha != 0 else (1 if beta == 0 else 0)

    y = np.mean(gt)
    if y == 0:
        return 1 - np.mean(pred)
    if y == 1:
        return np.mean(pred)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = y * s_object(pred * gt, gt) + (1 - y) * s_object((1 - pred) * (1 - gt), 1 - gt)
        h, w = gt.shape
        cx = int(np.round(np.sum(np.sum(gt, axis=0) * np.arange(w)) / np.sum(gt))) + 1
        cy = int(np.round(np.sum(np.sum(gt, axis=1) * np.arange(h)) / np.sum(gt))) + 1
        a = h * w
        w1, w2, w3 = cx * cy / a, cy * (w - cx) / a, (h - cy) * cx / a
        reg = (w1 * ssim(pred[:cy, :cx], gt[:cy, :cx]) + w2 * ssim(pred[:cy, cx:], gt[:cy, cx:])
               + w3 * ssim(pred[cy:, :cx], gt[cy:, :cx])
               + (1 - w1 - w2 - w3) * ssim(pred[cy:, cx:], gt[cy:, cx:]))
        return max(0, 0.5 * obj + 0.5 * reg)


# ----------------------------------------------------------------------------- synthetic data
def random_frame(rng: np.random.Generator, h: int, w: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    gt = np.zeros((h, w), np.uint8)
    if kind != "empty":
        cy, cx = rng.integers(h // 3, 2 * h // 3), rng.integers(w // 3, 2 * w // 3)
        cv2.ellipse(gt, (int(cx), int(cy)), (int(rng.integers(4, w // 4)), int(rng.integers(4, h // 4))),
                    float(rng.integers(0, 180)), 0, 360, 255, -1)
    if kind == "constant":
        return np.full((h, w), int(rng.integers(0, 256)), np.uint8), gt
    soft = cv2.GaussianBlur(gt.astype(np.float32), (0, 0), 2.0) + rng.normal(0, 40, (h, w))
    pred = np.clip(np.roll(soft, int(rng.integers(-3, 4)), axis=1), 0, 255).astype(np.uint8)
    if kind == "coarse":  # fewer levels -> many ties at thresholds; other size -> resize
        pred = cv2.resize((pred // 64 * 64).astype(np.uint8), (w // 2 + 3, h // 2 - 1))
    return pred, gt


def make_video_tree(root, rng, datasets=("TestEasyDataset/Unseen", "TestHardDataset"), n_cases=3):
    """GT at root/gt/<ds>/GT/<case>/<frame>.png, predictions at root/pred/<ds>/<case>/<frame>.png."""
    kinds = ["normal", "normal", "coarse", "empty", "constant", "normal", "coarse"]
    for di, ds in enumerate(datasets):
        for c in range(n_cases):
            sunseg = (c + di) % 2 == 0
            case = f"case{c + 1}_{di + 1}" if sunseg else str(c + 1)
            n = int(rng.integers(3, 8))
            for f in range(n):
                name = sunseg_name(1, 1 + f // 3, f % 3 + 1) if sunseg else f"{f * 7 % 11}.png"
                pred, gt = random_frame(rng, 36, 44, kinds[int(rng.integers(0, len(kinds)))])
                for sub, img in (("gt", gt), ("pred", pred)):
                    d = root / sub / ds / ("GT" if sub == "gt" else "") / case
                    d.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(d / name), img)
    return root / "pred", root / "gt"


# ----------------------------------------------------------------------------- tests
def perfect_4x4():
    gt = np.zeros((4, 4), np.uint8)
    gt[:2, :2] = 255
    return gt.copy(), gt


def test_hand_computed_curves_perfect_prediction():
    pred, gt = perfect_4x4()
    m = frame_metrics(pred, gt)
    # E: thresholds 255..1 select exactly the object -> all four parts align: 16/15;
    # threshold 0 selects everything -> (4 * 1/4 + 12 * 1/4) / 15 = 4/15.
    assert np.allclose(m.em_curve[:255], 16 / 15, rtol=0, atol=1e-12)
    assert m.em_curve[255] == pytest.approx(4 / 15, abs=1e-12)
    # F (beta^2 = 0.3): precision 1, recall 1 -> 1; at threshold 0 precision 4/16 -> 0.325/1.075.
    assert np.allclose(m.fm_curve[:255], 1.0) and m.fm_curve[255] == pytest.approx(0.325 / 1.075)
    # Dice/Sen over linspace(1, 0, 256): t > 0 -> perfect; t = 0 -> everything: 2*4/(4+16).
    assert np.all(m.dice_curve[:255] == 1.0) and m.dice_curve[255] == pytest.approx(0.4)
    assert np.all(m.sen_curve == 1.0)
    assert m.wfmeasure == pytest.approx(1.0, abs=1e-12)
    # The object sits in the top-left corner: VPS's centroid split leaves a one-pixel quadrant,
    # its unbiased variance is 0/0 and VPS's max(0, nan) returns 0 (pysodmetrics says ~1).
    assert m.smeasure == 0.0 == vps_smeasure(pred, gt)
    assert psm.Smeasure().cal_sm(*prepare_data(pred, gt)) == pytest.approx(1.0)


def test_hand_computed_smeasure():
    gt = np.zeros((4, 4), np.uint8)
    gt[:3, :3] = 255  # centroid (1, 1) -> split at (2, 2): four 2x2 quadrants
    pred = np.zeros((4, 4), np.uint8)
    pred[:3, :2] = 255
    # object: fg mean 2/3, std 1/2 -> (4/3)/(4/9 + 1 + 1/2) = 24/35; bg -> 1; 9/16*24/35 + 7/16.
    # region: quadrants score 1, 0, 1, 0 with weight 1/4 -> 1/2.  S = (461/560 + 1/2) / 2.
    expect = 741 / 1120
    assert frame_metrics(pred, gt).smeasure == pytest.approx(expect, abs=1e-12)
    assert psm.Smeasure().cal_sm(*prepare_data(pred, gt)) == pytest.approx(expect, abs=1e-12)


def test_degenerate_smeasure_follows_vps():
    rng = np.random.default_rng(5)
    cases = []
    g = np.zeros((9, 9), np.uint8)
    g[4, 4] = 255  # one-pixel object: std(ddof=1) of one value is NaN in VPS
    cases.append(g)
    g = np.zeros((9, 9), np.uint8)
    g[:, 8] = 255  # object on the last column: centroid split gives empty quadrants
    cases.append(g)
    g = np.full((9, 9), 255, np.uint8)
    g[0, 0] = 0  # one-pixel background
    cases.append(g)
    for gt in cases:
        pred = rng.integers(0, 256, gt.shape).astype(np.uint8)
        assert frame_metrics(pred, gt).smeasure == vps_smeasure(pred, gt) == 0


def test_prepare_frame_matches_vps_preparation():
    rng = np.random.default_rng(0)
    for kind in ["normal", "coarse", "empty", "constant"]:
        pred, gt = random_frame(rng, 30, 40, kind)
        fr = prepare_frame(pred, gt)
        p = cv2.resize(pred, (40, 30)) if pred.shape != gt.shape else pred
        ref_pred, ref_gt = prepare_data(p, gt)
        assert np.array_equal(fr.pred, ref_pred) and np.array_equal(fr.gt, ref_gt)
    with pytest.raises(ValueError, match="uint8"):
        prepare_frame(np.zeros((4, 4)), np.zeros((4, 4), np.uint8))


def test_frame_metrics_equal_pysodmetrics_and_naive_loop():
    rng = np.random.default_rng(1)
    kinds = ["normal", "coarse", "empty", "constant", "normal", "coarse"]
    for i, kind in enumerate(kinds * 2):
        pred, gt = random_frame(rng, 32 + i, 40, kind)
        if i == 7:
            gt[:] = 255  # full-frame object
        m = frame_metrics(pred, gt)
        p = cv2.resize(pred, gt.shape[::-1]) if pred.shape != gt.shape else pred
        em, fm, wf = psm.Emeasure(), psm.Fmeasure(), psm.WeightedFmeasure()
        for x in (em, fm, wf):
            x.step(p, gt)
        assert np.array_equal(m.em_curve, em.get_results()["em"]["curve"])
        assert np.array_equal(m.fm_curve, fm.get_results()["fm"]["curve"])
        assert m.wfmeasure == wf.get_results()["wfm"]
        assert m.smeasure == pytest.approx(vps_smeasure(p, gt), abs=1e-12)
        d, s = naive_dice_sen(p, gt)
        assert np.array_equal(m.dice_curve, d) and np.array_equal(m.sen_curve, s)


def test_dice_sen_exact_at_ties_on_threshold_grid():
    # Levels that hit the linspace(1, 0, 256) grid exactly (k/255 after min-max) and near misses.
    pred = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    gt = np.zeros_like(pred)
    gt[:, 100:200] = 255
    m = frame_metrics(pred, gt)
    d, s = naive_dice_sen(pred, gt)
    assert np.array_equal(m.dice_curve, d) and np.array_equal(m.sen_curve, s)
    pred2 = np.tile(np.array([3, 3, 90, 91, 200, 250], np.uint8), (5, 1))
    gt2 = np.zeros_like(pred2)
    gt2[:, 3:] = 255
    m2 = frame_metrics(pred2, gt2)
    assert np.array_equal(m2.dice_curve, naive_dice_sen(pred2, gt2)[0])


def test_frame_ordering():
    # Integer names: numeric, not lexicographic.
    assert sort_frames("12", ["10.png", "9.png", "100.png", "1.png"]) == ["1.png", "9.png", "10.png", "100.png"]
    # SUN-SEG names: clip, then a<K>, then image<N>, all numeric.
    names = [sunseg_name(2, 1, 1), sunseg_name(1, 10, 1), sunseg_name(1, 2, 10), sunseg_name(1, 2, 9)]
    assert sort_frames("case3_2", names) == [names[3], names[2], names[1], names[0]]
    assert frame_sort_key("case3_2", names[1]) == (3, 2, 1, 10, 1)
    assert frame_sort_key("case7", names[0])[:2] == (7, 0)
    # Neither (VPS would raise): natural order.
    assert sort_frames("clipA", ["f10.png", "f9.png"]) == ["f9.png", "f10.png"]


def write_case(root, case, frames):
    for sub in ("GT", "pred"):
        (root / sub / case).mkdir(parents=True, exist_ok=True)
    for name, pred, gt in frames:
        cv2.imwrite(str(root / "GT" / case / name), gt)
        cv2.imwrite(str(root / "pred" / case / name), pred)


def test_first_last_dropped_and_missing_prediction(tmp_path):
    rng = np.random.default_rng(2)
    frames = [(f"{i}.png", *random_frame(rng, 24, 24, "normal")) for i in (5, 1, 3, 20, 4)]
    write_case(tmp_path, "7", frames)
    res = evaluate_case(tmp_path / "GT" / "7", tmp_path / "pred" / "7")
    assert res.frames == ["3.png", "4.png", "5.png"]  # 1 and 20 dropped
    ordered = sorted(frames, key=lambda t: int(t[0][:-4]))
    ref = evaluate_case_arrays("7", ordered)
    assert np.array_equal(res.dice_curve, ref.dice_curve) and res.smeasure == ref.smeasure
    # The dropped frames need no prediction; a kept one does.
    (tmp_path / "pred" / "7" / "20.png").unlink()
    evaluate_case(tmp_path / "GT" / "7", tmp_path / "pred" / "7")
    (tmp_path / "pred" / "7" / "4.png").unlink()
    with pytest.raises(FileNotFoundError, match="4.png"):
        evaluate_case(tmp_path / "GT" / "7", tmp_path / "pred" / "7")
    z = evaluate_case(tmp_path / "GT" / "7", tmp_path / "pred" / "7", missing="zeros")
    zeroed = [t if t[0] != "4.png" else (t[0], np.zeros_like(t[2]), t[2]) for t in ordered]
    zref = evaluate_case_arrays("7", zeroed)
    assert np.array_equal(z.sen_curve, zref.sen_curve) and z.wfmeasure == zref.wfmeasure


def test_case_weighting_uneven_lengths_and_skipping(tmp_path):
    rng = np.random.default_rng(3)
    short = [(f"{i}.png", *random_frame(rng, 20, 20, "empty" if i == 1 else "normal")) for i in range(3)]
    long = [(f"{i}.png", *random_frame(rng, 20, 20, "normal")) for i in range(6)]
    write_case(tmp_path, "1", short)
    write_case(tmp_path, "2", long)
    write_case(tmp_path, "3", long[:2])  # two frames: nothing left after dropping the ends
    res = evaluate_dataset(tmp_path, tmp_path / "pred", progress=False, n_resamples=50)
    assert res.skipped_cases == ["3"] and [c.n_frames for c in res.cases] == [1, 4]
    fm = [frame_metrics(p, g) for _, p, g in short[1:-1] + long[1:-1]]
    case_mean = (fm[0].dice_curve + np.mean([f.dice_curve for f in fm[1:]], axis=0)) / 2
    pooled = np.mean([f.dice_curve for f in fm], axis=0)
    assert res.scores["meanDice"] == pytest.approx(case_mean.mean(), abs=1e-12)
    assert res.scores["maxDice"] == pytest.approx(case_mean.max(), abs=1e-12)
    assert abs(pooled.mean() - case_mean.mean()) > 1e-3  # cases, not frames, are averaged
    s_case = (fm[0].smeasure + np.mean([f.smeasure for f in fm[1:]])) / 2
    assert res.scores["Smeasure"] == pytest.approx(s_case, abs=1e-12)
    for k in METRIC_NAMES:
        lo, hi = res.ci[k]
        assert lo <= hi
    assert aggregate_cases(res.cases) == res.scores


def test_agrees_with_vps_reference_on_random_tree(tmp_path):
    pred_root, gt_root = make_video_tree(tmp_path, np.random.default_rng(4))
    assert find_video_datasets(gt_root) == ["TestEasyDataset/Unseen", "TestHardDataset"]
    results = evaluate_video_roots(pred_root, gt_root, progress=False, n_resamples=100)
    for name, r in results.items():
        ref = vps_reference(str(gt_root / name), str(pred_root / name))
        for k in METRIC_NAMES:
            assert r.scores[k] == pytest.approx(ref[k], abs=1e-9), (name, k)
    # Seeded CIs are reproducible.
    again = evaluate_video_roots(pred_root, gt_root, progress=False, n_resamples=100)
    assert all(again[n].ci == results[n].ci for n in results)
