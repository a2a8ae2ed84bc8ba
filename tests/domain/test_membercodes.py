from engine import membercodes


def test_member_code_round_trip_and_check_digit():
    code = membercodes.member_code(1)
    assert code == "00000000001" + str(membercodes.damm("00000000001"))
    assert len(code) == 12 and membercodes.is_valid_member_code(code)
    assert membercodes.vpoint_code(1) == "VP00000000001"


def test_every_single_digit_error_and_adjacent_swap_detected():
    code = membercodes.member_code(4_815_162_342)
    for i, char in enumerate(code):
        for digit in "0123456789":
            if digit != char:
                assert not membercodes.is_valid_member_code(code[:i] + digit + code[i + 1:])
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
            assert not membercodes.is_valid_member_code(swapped)


def test_invalid_shapes():
    assert not membercodes.is_valid_member_code("12345")
    assert not membercodes.is_valid_member_code("abcdefghijkl")
