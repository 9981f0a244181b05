"""Reference codes the generator draws from, and the check characters it computes.

This is the code-list room of the generator: GB/T 2260 provinces, GB/T 4754-2017 industry divisions and classes
of sections B–E, NBS registration types, occupation groups of the 职业分类大典, and the check-character rules of
GB 32100 (USCC), GB 11714 (organisation code inside a USCC) and GB 11643 (citizen ID number). The rules are
vectorised over numpy arrays because a national run computes a million of them. `tests/synthetic/test_generate.py`
checks the output with its own, independent implementation, so a mistake here cannot hide behind itself.
"""

from __future__ import annotations

import numpy as np

# --- GB/T 2260 provinces -------------------------------------------------------------------------------------
#: code → short name (used in enterprise names and the province weights below)
PROVINCES: dict[str, str] = {
    "11": "北京",
    "12": "天津",
    "13": "河北",
    "14": "山西",
    "15": "内蒙古",
    "21": "辽宁",
    "22": "吉林",
    "23": "黑龙江",
    "31": "上海",
    "32": "江苏",
    "33": "浙江",
    "34": "安徽",
    "35": "福建",
    "36": "江西",
    "37": "山东",
    "41": "河南",
    "42": "湖北",
    "43": "湖南",
    "44": "广东",
    "45": "广西",
    "46": "海南",
    "50": "重庆",
    "51": "四川",
    "52": "贵州",
    "53": "云南",
    "54": "西藏",
    "61": "陕西",
    "62": "甘肃",
    "63": "青海",
    "64": "宁夏",
    "65": "新疆",
}
PROVINCE_CODES: tuple[str, ...] = tuple(PROVINCES)

#: Rough share of industrial enterprises by province (order of magnitude of the NBS count of 规模以上工业企业
#: by province: the coastal manufacturing provinces dominate, Tibet and Qinghai are tiny). Normalised on use.
PROVINCE_WEIGHT: dict[str, float] = {
    "11": 0.8,
    "12": 1.2,
    "13": 3.5,
    "14": 1.5,
    "15": 0.8,
    "21": 2.0,
    "22": 0.7,
    "23": 0.8,
    "31": 2.0,
    "32": 12.5,
    "33": 12.5,
    "34": 4.5,
    "35": 4.5,
    "36": 3.0,
    "37": 7.5,
    "41": 5.0,
    "42": 4.0,
    "43": 4.0,
    "44": 14.5,
    "45": 1.8,
    "46": 0.2,
    "50": 1.8,
    "51": 4.0,
    "52": 1.2,
    "53": 1.3,
    "54": 0.05,
    "61": 1.8,
    "62": 0.5,
    "63": 0.15,
    "64": 0.3,
    "65": 0.8,
}

#: Wage level of a province relative to the national mean (metropolitan and coastal provinces pay more).
PROVINCE_WAGE: dict[str, float] = {
    "11": 1.45,
    "12": 1.12,
    "13": 0.90,
    "14": 0.92,
    "15": 1.00,
    "21": 0.92,
    "22": 0.88,
    "23": 0.86,
    "31": 1.45,
    "32": 1.12,
    "33": 1.12,
    "34": 0.95,
    "35": 1.02,
    "36": 0.90,
    "37": 0.98,
    "41": 0.85,
    "42": 0.95,
    "43": 0.92,
    "44": 1.15,
    "45": 0.86,
    "46": 0.95,
    "50": 0.96,
    "51": 0.95,
    "52": 0.88,
    "53": 0.88,
    "54": 1.10,
    "61": 0.92,
    "62": 0.84,
    "63": 0.95,
    "64": 0.90,
    "65": 0.98,
}

#: Provinces that send migrant workers out (hukou origin of inter-provincial migrants), with rough weights.
MIGRANT_ORIGIN_WEIGHT: dict[str, float] = {
    "41": 14,
    "51": 11,
    "34": 10,
    "43": 9,
    "36": 7,
    "42": 6,
    "52": 7,
    "45": 6,
    "50": 4,
    "13": 4,
    "37": 4,
    "62": 3,
    "53": 3,
    "61": 2,
    "23": 2,
    "22": 1.5,
    "14": 1.5,
    "35": 2,
    "44": 1,
    "33": 1,
}

# --- GB/T 4754-2017 sections B–E -----------------------------------------------------------------------------
SECTIONS: tuple[str, ...] = ("B", "C", "D", "E")

#: every class (4 digits) of the divisions of sections B–E, GB/T 4754-2017
_CLASSES: dict[str, str] = {
    "06": "0610 0620 0690",
    "07": "0711 0712 0721 0722",
    "08": "0810 0820 0890",
    "09": "0911 0912 0913 0914 0915 0916 0917 0919 0921 0922 0929 0931 0932 0933 0939",
    "10": "1011 1012 1013 1019 1020 1030 1091 1092 1093 1099",
    "11": "1110 1120 1190",
    "12": "1200",
    "13": (
        "1311 1312 1313 1314 1319 1321 1329 1331 1332 1340 1351 1352 1353 1361 1362 1363 1369 1371 1372 "
        "1373 1391 1392 1393 1399"
    ),
    "14": (
        "1411 1419 1421 1422 1431 1432 1433 1439 1441 1442 1449 1451 1452 1453 1459 1461 1462 1469 1491 "
        "1492 1493 1494 1495 1499"
    ),
    "15": "1511 1512 1513 1514 1515 1519 1521 1522 1523 1524 1525 1529 1530",
    "16": "1610 1620 1690",
    "17": (
        "1711 1712 1713 1721 1722 1723 1731 1732 1733 1741 1742 1743 1751 1752 1761 1762 1763 1771 1772 "
        "1773 1779 1781 1782 1783 1784 1789"
    ),
    "18": "1811 1819 1821 1829 1830",
    "19": "1910 1921 1922 1923 1929 1931 1932 1939 1941 1942 1951 1952 1953 1954 1959",
    "20": "2011 2012 2013 2019 2021 2022 2023 2029 2031 2032 2033 2034 2035 2039 2041 2042 2043 2049",
    "21": "2110 2120 2130 2140 2190",
    "22": "2211 2212 2221 2222 2223 2231 2239",
    "23": "2311 2312 2319 2320 2330",
    "24": (
        "2411 2412 2413 2414 2419 2421 2422 2423 2429 2431 2432 2433 2434 2435 2436 2437 2438 2439 2441 "
        "2442 2443 2444 2449 2451 2452 2453 2454 2455 2456 2459 2461 2462 2469"
    ),
    "25": "2511 2519 2521 2522 2523 2524 2529 2530 2541 2542",
    "26": (
        "2611 2612 2613 2614 2619 2621 2622 2623 2624 2625 2629 2631 2632 2641 2642 2643 2644 2645 2646 "
        "2651 2652 2653 2659 2661 2662 2663 2664 2665 2666 2667 2669 2671 2672 2681 2682 2683 2684 2689"
    ),
    "27": "2710 2720 2730 2740 2750 2761 2762 2770 2780",
    "28": "2811 2812 2821 2822 2823 2824 2825 2826 2829 2831 2832",
    "29": "2911 2912 2913 2914 2915 2916 2919 2921 2922 2923 2924 2925 2926 2927 2928 2929",
    "30": (
        "3011 3012 3021 3022 3023 3024 3029 3031 3032 3033 3034 3039 3041 3042 3049 3051 3052 3053 3054 "
        "3055 3056 3057 3059 3061 3062 3071 3072 3073 3074 3075 3076 3079 3081 3082 3089 3091 3099"
    ),
    "31": "3110 3120 3130 3140",
    "32": ("3211 3212 3213 3214 3215 3216 3217 3218 3219 3221 3222 3229 3231 3232 3239 3240 3251 3252 3253 3254 3259"),
    "33": (
        "3311 3312 3321 3322 3323 3324 3329 3331 3332 3333 3340 3351 3352 3353 3359 3360 3371 3372 3373 "
        "3379 3381 3382 3383 3389 3391 3392 3393 3394 3399"
    ),
    "34": (
        "3411 3412 3413 3414 3415 3419 3421 3422 3423 3424 3425 3429 3431 3432 3433 3434 3435 3436 3437 "
        "3439 3441 3442 3443 3444 3445 3446 3451 3452 3453 3459 3461 3462 3463 3464 3465 3466 3467 3471 "
        "3472 3473 3474 3475 3479 3481 3482 3483 3484 3489 3491 3492 3493 3499"
    ),
    "35": (
        "3511 3512 3513 3514 3515 3516 3517 3521 3522 3523 3524 3525 3529 3531 3532 3533 3534 3541 3542 "
        "3543 3544 3545 3546 3549 3551 3552 3553 3554 3561 3562 3563 3569 3571 3572 3573 3574 3575 3576 "
        "3577 3579 3581 3582 3583 3584 3585 3586 3587 3589 3591 3592 3593 3594 3595 3596 3597 3599"
    ),
    "36": "3611 3612 3620 3630 3640 3650 3660 3670",
    "37": (
        "3711 3712 3713 3714 3715 3716 3719 3720 3731 3732 3733 3734 3735 3736 3737 3739 3742 3743 3744 "
        "3749 3751 3752 3761 3762 3770 3780 3791 3792 3799"
    ),
    "38": (
        "3811 3812 3813 3819 3821 3822 3823 3824 3825 3829 3831 3832 3833 3834 3839 3841 3842 3843 3844 "
        "3849 3851 3852 3853 3854 3855 3856 3857 3859 3861 3862 3869 3871 3872 3873 3874 3879 3891 3899"
    ),
    "39": (
        "3911 3912 3913 3914 3915 3919 3921 3922 3931 3932 3933 3934 3939 3940 3951 3952 3953 3961 3962 "
        "3963 3964 3969 3971 3972 3973 3974 3975 3976 3979 3981 3982 3983 3984 3985 3989 3990"
    ),
    "40": ("4011 4012 4013 4014 4015 4016 4019 4021 4022 4023 4024 4025 4026 4027 4028 4029 4030 4040 4050 4090"),
    "41": "4111 4119 4120 4190",
    "42": "4210 4220",
    "43": "4310 4320 4330 4341 4342 4343 4349 4350 4360 4390",
    "44": "4411 4412 4413 4414 4415 4416 4417 4419 4420 4430",
    "45": "4511 4512 4513 4520",
    "46": "4610 4620 4630 4690",
    "47": "4710 4720 4790",
    "48": (
        "4811 4812 4813 4814 4819 4821 4822 4823 4831 4832 4833 4834 4839 4840 4851 4852 4853 4861 4862 "
        "4863 4871 4872 4873 4874 4875 4879 4891 4892 4893 4899"
    ),
    "49": "4910 4920 4991 4999",
    "50": "5011 5012 5013 5021 5022 5030 5090",
}
INDUSTRY_CLASSES: dict[str, tuple[str, ...]] = {div: tuple(codes.split()) for div, codes in _CLASSES.items()}


def section_of_division(division: str) -> str:
    """GB/T 4754-2017: B 06–12, C 13–43, D 44–46, E 47–50."""
    d = int(division)
    if 6 <= d <= 12:
        return "B"
    if 13 <= d <= 43:
        return "C"
    if 44 <= d <= 46:
        return "D"
    if 47 <= d <= 50:
        return "E"
    raise ValueError(f"division {division} is outside sections B–E")


DIVISIONS: tuple[str, ...] = tuple(INDUSTRY_CLASSES)

#: Weight of each division among enterprises of its section (how many firms, not how many workers): machinery,
#: electrical and electronic equipment, metal products, minerals, chemicals, plastics, textiles and food make up
#: most manufacturing firms; oil and gas extraction is a handful of very large firms.
DIVISION_WEIGHT: dict[str, float] = {
    "06": 30,
    "07": 3,
    "08": 8,
    "09": 10,
    "10": 30,
    "11": 8,
    "12": 2,
    "13": 5,
    "14": 2.5,
    "15": 1.5,
    "16": 0.2,
    "17": 4.5,
    "18": 3.5,
    "19": 2.2,
    "20": 2.0,
    "21": 1.6,
    "22": 1.6,
    "23": 1.2,
    "24": 2.0,
    "25": 0.5,
    "26": 5.5,
    "27": 2.0,
    "28": 0.5,
    "29": 5.5,
    "30": 8.0,
    "31": 1.2,
    "32": 2.0,
    "33": 6.5,
    "34": 6.0,
    "35": 5.0,
    "36": 3.8,
    "37": 1.5,
    "38": 7.0,
    "39": 5.5,
    "40": 1.5,
    "41": 0.6,
    "42": 0.8,
    "43": 0.3,
    "44": 55,
    "45": 20,
    "46": 25,
    "47": 40,
    "48": 30,
    "49": 15,
    "50": 15,
}

#: a word for enterprise names, per division (names are fake; the word only makes them readable)
DIVISION_WORD: dict[str, str] = {
    "06": "煤业",
    "07": "石油",
    "08": "矿业",
    "09": "有色矿业",
    "10": "矿产",
    "11": "矿山技术",
    "12": "矿业",
    "13": "食品",
    "14": "食品",
    "15": "饮品",
    "16": "烟草",
    "17": "纺织",
    "18": "服饰",
    "19": "皮革制品",
    "20": "木业",
    "21": "家具",
    "22": "纸业",
    "23": "印务",
    "24": "文体用品",
    "25": "能源化工",
    "26": "化工",
    "27": "制药",
    "28": "化纤",
    "29": "塑胶",
    "30": "建材",
    "31": "钢铁",
    "32": "有色金属",
    "33": "金属制品",
    "34": "机械",
    "35": "装备",
    "36": "汽车",
    "37": "交通装备",
    "38": "电气",
    "39": "电子",
    "40": "仪器",
    "41": "制品",
    "42": "再生资源",
    "43": "设备维修",
    "44": "电力",
    "45": "燃气",
    "46": "水务",
    "47": "建设",
    "48": "路桥工程",
    "49": "安装工程",
    "50": "装饰工程",
}

# --- NBS registration types (登记注册类型) --------------------------------------------------------------------
#: state-controlled enterprises are mostly state-owned, wholly state-owned companies or joint-stock companies
REGISTRATION_STATE: dict[int, float] = {110: 0.25, 151: 0.45, 160: 0.20, 159: 0.10}
#: other enterprises: private limited companies dominate; Hong Kong/Macao/Taiwan (2xx) and foreign (3xx) firms
REGISTRATION_OTHER: dict[int, float] = {
    120: 0.02,
    130: 0.01,
    141: 0.002,
    142: 0.002,
    143: 0.002,
    149: 0.002,
    159: 0.10,
    160: 0.04,
    171: 0.05,
    172: 0.02,
    173: 0.55,
    174: 0.05,
    190: 0.01,
    210: 0.012,
    220: 0.012,
    230: 0.012,
    240: 0.006,
    310: 0.015,
    320: 0.015,
    330: 0.012,
    340: 0.004,
    390: 0.002,
}

# --- occupations (职业分类大典 2022, major group-subgroup-unit-occupation) ------------------------------------
#: production-worker subgroups by section (major group 6 生产制造及有关人员)
PRODUCTION_OCCUPATIONS: dict[str, tuple[str, ...]] = {
    "B": ("6-16-01-01", "6-16-01-02", "6-16-02-01", "6-16-03-01", "6-16-04-01"),
    "C": (
        "6-01-01-01",
        "6-04-01-01",
        "6-05-01-02",
        "6-11-01-01",
        "6-14-01-01",
        "6-17-01-01",
        "6-18-01-01",
        "6-18-01-02",
        "6-18-02-04",
        "6-20-01-01",
        "6-22-02-01",
        "6-24-03-01",
        "6-25-04-06",
        "6-26-01-01",
        "6-31-01-03",
    ),
    "D": ("6-28-01-01", "6-28-01-04", "6-28-02-01", "6-28-03-01"),
    "E": ("6-29-01-01", "6-29-01-03", "6-29-02-01", "6-29-03-01", "6-29-03-05", "6-29-04-02"),
}
#: engineers and technicians (2-02 工程技术人员), clerks (3-01), managers (1-06)
TECHNICAL_OCCUPATIONS: tuple[str, ...] = ("2-02-07-01", "2-02-07-04", "2-02-14-01", "2-02-11-02", "2-02-18-01")
CLERICAL_OCCUPATIONS: tuple[str, ...] = ("3-01-02-01", "3-01-02-03", "1-06-01-00")
#: platform work: 网约配送员 (4-02-07-10), 网约车司机 / 道路客运 (4-02-02-03), 快递员 (4-02-07-02)
PLATFORM_OCCUPATIONS: tuple[str, ...] = ("4-02-07-10", "4-02-02-03", "4-02-07-02", "4-02-04-01")

# --- skill levels --------------------------------------------------------------------------------------------
SKILL_CODES: tuple[str, ...] = ("L0", "L1", "L2", "L3", "L4", "L5", "L6", "L7")
SKILL_NAMES: tuple[str, ...] = ("学徒工", "初级工", "中级工", "高级工", "技师", "高级技师", "特级技师", "首席技师")
#: 五级..一级 are the national occupational-skill grades L1..L5; L0, L6, L7 have no grade and keep their name
SKILL_GRADES: tuple[str, ...] = ("学徒工", "五级", "四级", "三级", "二级", "一级", "特级技师", "首席技师")
CRAFTSMAN_TITLES: tuple[str, ...] = ("", "市级", "省级", "国家级")

# --- check characters ----------------------------------------------------------------------------------------
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = "10X98765432"

_USCC_BYTES = np.frombuffer(USCC_ALPHABET.encode("ascii"), dtype=np.uint8)
#: GB 11714 values a character takes in an organisation code: digits 0–9, letters A=10 … Z=35
_ORG_VALUE = np.zeros(128, dtype=np.int64)
_ORG_VALUE[48:58] = np.arange(10)
_ORG_VALUE[65:91] = np.arange(10, 36)
_USCC_VALUE = np.full(128, -1, dtype=np.int64)
_USCC_VALUE[_USCC_BYTES] = np.arange(31)


def _rows_to_str(chars: np.ndarray) -> np.ndarray:
    """(n, k) uint8 ASCII codes → n strings of length k, without a Python loop."""
    chars = np.ascontiguousarray(chars, dtype=np.uint8)
    k = chars.shape[1]
    return chars.view(f"S{k}").ravel().astype(f"U{k}")


def org_codes(index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """GB 11714 organisation codes (8 characters + check), unique for distinct `index` values.

    Half look like legacy codes (8 digits), half like codes issued since 2015 (`MA` + 6 characters). Uniqueness
    comes from an affine permutation of the index, so no code repeats however many enterprises there are.
    """
    n = index.shape[0]
    out = np.zeros((n, 9), dtype=np.uint8)
    modern = rng.random(n) < 0.5
    # legacy: 8 digits, x → (a·x + b) mod 10^8 with a coprime to 10 is a bijection
    a, b = 48_271_873, int(rng.integers(0, 10**8))
    legacy_num = (index.astype(np.int64) * a + b) % 10**8
    digits = (legacy_num[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    out[:, :8] = (digits + 48).astype(np.uint8)
    # modern: "MA" + 6 characters of the USCC alphabet, x → (a·x + b) mod 31^6 with a coprime to 31
    base = 31**6
    m_num = (index.astype(np.int64) * 7_654_321 + int(rng.integers(0, base))) % base
    m_digits = (m_num[:, None] // 31 ** np.arange(5, -1, -1)) % 31
    modern_chars = np.concatenate(
        [np.tile(np.frombuffer(b"MA", dtype=np.uint8), (n, 1)), _USCC_BYTES[m_digits]], axis=1
    )
    out[modern, :8] = modern_chars[modern]
    # GB 11714 check: C9 = 11 − (Σ value·weight mod 11); 10 → X, 11 → 0
    c9 = 11 - (_ORG_VALUE[out[:, :8]] @ ORG_WEIGHTS) % 11
    out[:, 8] = np.where(c9 == 10, ord("X"), np.where(c9 == 11, ord("0"), c9 + 48)).astype(np.uint8)
    return out


def uscc_check_values(body: np.ndarray) -> np.ndarray:
    """GB 32100 check-character value for (n, 17) character values 0–30: 31 − (Σ value·weight mod 31), 31 → 0."""
    check = 31 - (body @ USCC_WEIGHTS) % 31
    return np.where(check == 31, 0, check)


def make_usccs(region6: np.ndarray, index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unified social credit codes: `9` (market regulator) `1` (enterprise) + region + organisation code + check."""
    n = index.shape[0]
    chars = np.zeros((n, 18), dtype=np.uint8)
    chars[:, 0], chars[:, 1] = ord("9"), ord("1")
    chars[:, 2:8] = np.frombuffer(region6.astype("S6").tobytes(), dtype=np.uint8).reshape(n, 6)
    chars[:, 8:17] = org_codes(index, rng)
    values = _USCC_VALUE[chars[:, :17]]
    chars[:, 17] = _USCC_BYTES[uscc_check_values(values)]
    return _rows_to_str(chars)


def uscc_check_char(code17: str) -> str:
    """The check character of one 17-character USCC body (used when a defect needs a code rebuilt)."""
    values = np.array([[USCC_ALPHABET.index(c) for c in code17]], dtype=np.int64)
    return USCC_ALPHABET[int(uscc_check_values(values)[0])]


def id_check_chars(body: np.ndarray) -> np.ndarray:
    """GB 11643 check character (ISO 7064 MOD 11-2) for (n, 17) digit values, as ASCII codes."""
    table = np.frombuffer(ID_CHECK.encode("ascii"), dtype=np.uint8)
    return table[(body @ ID_WEIGHTS) % 11]


def id_check_char(body17: str) -> str:
    return ID_CHECK[sum(int(c) * int(w) for c, w in zip(body17, ID_WEIGHTS, strict=True)) % 11]


#: days of a 365-day year by month (29 February is never drawn: every drawn birth date exists every year)
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_MONTH_START = np.concatenate([[0], np.cumsum(_MONTH_DAYS)[:-1]])


def birth_dates(age: np.ndarray, ref_year: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Birth (year, month, day) such that the completed age on 30 June of `ref_year` is exactly `age`.

    Born on or before 30 June of `ref_year − age`, or after 30 June of the year before: both give `age` on the
    reference date.
    """
    doy = rng.integers(0, 365, size=age.shape[0])
    month = np.searchsorted(_MONTH_START, doy, side="right")  # 1..12
    day = doy - _MONTH_START[month - 1] + 1
    by_30_june = month <= 6
    year = np.where(by_30_june, ref_year - age, ref_year - age - 1)
    return year, month, day


def make_id_numbers(
    region6: np.ndarray, age: np.ndarray, male: np.ndarray, ref_year: int, rng: np.random.Generator
) -> np.ndarray:
    """GB 11643 numbers: region + YYYYMMDD + sequence (odd last digit for men) + MOD 11-2 check."""
    n = age.shape[0]
    year, month, day = birth_dates(age, ref_year, rng)
    seq = rng.integers(0, 500, size=n) * 2 + male.astype(np.int64)
    digits = np.zeros((n, 17), dtype=np.int64)
    digits[:, 0:6] = np.frombuffer(region6.astype("S6").tobytes(), dtype=np.uint8).reshape(n, 6) - 48
    for k, (value, width) in enumerate(((year, 4), (month, 2), (day, 2), (seq, 3))):
        start = 6 + sum(w for w in (4, 2, 2, 3)[:k])
        digits[:, start : start + width] = (value[:, None] // 10 ** np.arange(width - 1, -1, -1)) % 10
    chars = np.zeros((n, 18), dtype=np.uint8)
    chars[:, :17] = (digits + 48).astype(np.uint8)
    chars[:, 17] = id_check_chars(digits)
    return _rows_to_str(chars)
