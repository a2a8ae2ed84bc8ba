from engine import idnumbers, vntext


def test_fold_handles_d_stroke_and_marks():
    assert vntext.fold("  Nguyễn   Văn An ") == "nguyen van an"
    assert vntext.fold("Đặng Thị Thuỷ") == "dang thi thuy"


def test_tone_key_equates_old_and_new_placement():
    assert vntext.tone_key("Thuỷ") == vntext.tone_key("thủy")
    assert vntext.tone_key("Hòa") == vntext.tone_key("hoà")
    assert vntext.tone_key("Hòa") != vntext.tone_key("Hóa")


def test_nfc_normalises_decomposed_input():
    decomposed = "Nguye\u0302\u0303n"
    assert vntext.nfc(decomposed) == "Nguyễn"


def test_legacy_encodings_detected():
    assert vntext.legacy_encoding("Nguyeãn Vaên An") == "VNI"
    assert vntext.legacy_encoding("NguyÔn V¨n An") == "TCVN3"
    assert vntext.legacy_encoding("Nguyễn Văn Án") is None
    assert vntext.legacy_encoding("Xuân Tuấn Quyên") is None


def test_sort_by_given_name_with_icu():
    names = ["Nguyễn Văn Đức", "Trần Thị Anh", "Lê Văn Dũng", "Phạm Thị Ánh", "Ngô Bá Ân", "Bùi Văn Bình"]
    ordered = sorted(names, key=vntext.name_sort_key)
    assert ordered == ["Trần Thị Anh", "Phạm Thị Ánh", "Ngô Bá Ân", "Bùi Văn Bình", "Lê Văn Dũng",
                       "Nguyễn Văn Đức"]


def test_cccd_valid_and_consistent():
    result = idnumbers.check("052 090 123456", sex="Nam", birth_year=1990)
    assert result.ok and result.kind == "CCCD" and result.value == "052090123456"
    female_2001 = idnumbers.check("079301000001", sex="Nữ", birth_year=2001)
    assert female_2001.ok


def test_cccd_mismatches_and_unknown_province():
    wrong_sex = idnumbers.check("052090123456", sex="Nữ", birth_year=1990)
    assert any("giới tính" in e for e in wrong_sex.errors)
    wrong_year = idnumbers.check("052090123456", sex="Nam", birth_year=1991)
    assert any("năm sinh 1990" in e for e in wrong_year.errors)
    bad_province = idnumbers.check("003190123456")
    assert any("'003'" in e for e in bad_province.errors)


def test_cmnd_is_legacy_warning():
    result = idnumbers.check("215123456")
    assert result.ok and result.kind == "CMND" and "31/12/2024" in result.warnings[0]


def test_excel_numbers_explained():
    lost = idnumbers.check(52190123456)  # int: leading zero lost
    assert not lost.ok and "052190123456" in lost.errors[0]
    sci = idnumbers.check("5,2190E+11")
    assert not sci.ok and "khoa học" in sci.errors[0]
    as_float = idnumbers.check(215123456.0)
    assert as_float.ok and as_float.kind == "CMND" and any("Văn bản" in w for w in as_float.warnings)
    assert not idnumbers.check("12345").ok
    assert not idnumbers.check("05219012345X").ok
